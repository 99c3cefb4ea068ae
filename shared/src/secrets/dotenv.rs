//! A dotenv reader: `KEY=value` lines, `export KEY=value`, `#` comments, single quotes
//! (literal) and double quotes (with `\n`, `\"`, `\\` escapes). Errors name the line, never
//! the value.

use secrecy::SecretString;
use zeroize::Zeroizing;

use super::keys::valid_key_name;

/// Parse dotenv text into (key, value) pairs in file order; a later duplicate wins when the
/// caller collects them into a map.
pub fn parse(text: &str) -> Result<Vec<(String, SecretString)>, (usize, String)> {
    let mut out = vec![];
    for (index, raw) in text.lines().enumerate() {
        let line_no = index + 1;
        let line = raw.trim_start();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let line = line
            .strip_prefix("export ")
            .map(str::trim_start)
            .unwrap_or(line);
        let Some((key, rest)) = line.split_once('=') else {
            return Err((line_no, "expected KEY=value".into()));
        };
        let key = key.trim();
        if !valid_key_name(key) {
            return Err((line_no, format!("{key:?} is not a valid variable name")));
        }
        let value = parse_value(rest.trim_start())
            .map_err(|reason| (line_no, format!("{key}: {reason}")))?;
        out.push((key.to_owned(), SecretString::from(value.to_string())));
    }
    Ok(out)
}

fn parse_value(rest: &str) -> Result<Zeroizing<String>, String> {
    let mut value = Zeroizing::new(String::new());
    if let Some(body) = rest.strip_prefix('\'') {
        let end = body.find('\'').ok_or("unterminated single quote")?;
        value.push_str(&body[..end]);
        check_tail(&body[end + 1..])?;
    } else if let Some(body) = rest.strip_prefix('"') {
        let mut chars = body.char_indices();
        let mut closed = None;
        while let Some((i, c)) = chars.next() {
            match c {
                '"' => {
                    closed = Some(i);
                    break;
                }
                '\\' => match chars.next().map(|(_, c)| c) {
                    Some('n') => value.push('\n'),
                    Some('r') => value.push('\r'),
                    Some('t') => value.push('\t'),
                    Some(other) => value.push(other),
                    None => return Err("unterminated double quote".into()),
                },
                c => value.push(c),
            }
        }
        let end = closed.ok_or("unterminated double quote")?;
        check_tail(&body[end + 1..])?;
    } else {
        // Unquoted: an inline comment starts at " #".
        let cut = rest.find(" #").unwrap_or(rest.len());
        value.push_str(rest[..cut].trim_end());
    }
    Ok(value)
}

fn check_tail(tail: &str) -> Result<(), String> {
    let tail = tail.trim();
    if tail.is_empty() || tail.starts_with('#') {
        Ok(())
    } else {
        Err("unexpected text after the closing quote".into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use secrecy::ExposeSecret;

    fn pairs(text: &str) -> Vec<(String, String)> {
        parse(text)
            .unwrap()
            .into_iter()
            .map(|(k, v)| (k, v.expose_secret().to_owned()))
            .collect()
    }

    #[test]
    fn dotenv_reads_plain_quoted_and_exported_lines() {
        let text = "# comment\nA=1\nexport B = two words # note\nC='lit #\\n'\nD=\"x\\ny \\\"q\\\"\"\n\nE=\n";
        assert_eq!(
            pairs(text),
            [
                ("A".into(), "1".into()),
                ("B".into(), "two words".into()),
                ("C".into(), "lit #\\n".into()),
                ("D".into(), "x\ny \"q\"".into()),
                ("E".into(), String::new()),
            ]
        );
    }

    #[test]
    fn dotenv_keeps_equals_signs_in_values() {
        assert_eq!(
            pairs("DATABASE_URL=postgresql://u:p@h/db?sslmode=require"),
            [(
                "DATABASE_URL".into(),
                "postgresql://u:p@h/db?sslmode=require".into()
            )]
        );
    }

    #[test]
    fn dotenv_errors_name_the_line_not_the_value() {
        let err = parse("A=1\nB=\"SENTINEL\n").unwrap_err();
        assert_eq!(err.0, 2);
        assert!(!err.1.contains("SENTINEL"));
        assert_eq!(parse("just words").unwrap_err().0, 1);
        assert!(parse("1BAD=x").is_err());
    }
}
