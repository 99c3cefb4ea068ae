//! A dotenv reader: `KEY=value` lines, `export KEY=value`, `#` comments, single quotes
//! (literal) and double quotes (with `\n`, `\"`, `\\` escapes); a leading UTF-8 byte-order
//! mark is skipped. Errors name the line and what is wrong, never the line's text.

use secrecy::SecretString;
use zeroize::Zeroizing;

use super::input::DotenvProblem;
use super::keys::valid_key_name;

/// Parse dotenv text into (key, value) pairs in file order; a later duplicate wins when the
/// caller collects them into a map. `Err` is the 1-based line and its problem.
pub fn parse(text: &str) -> Result<Vec<(String, SecretString)>, (usize, DotenvProblem)> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
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
            let yaml_like = line.contains(':');
            return Err((line_no, DotenvProblem::NoEquals { yaml_like }));
        };
        let key = key.trim();
        if !valid_key_name(key) {
            return Err((line_no, DotenvProblem::BadName));
        }
        let value = parse_value(key, rest.trim_start()).map_err(|p| (line_no, p))?;
        out.push((key.to_owned(), SecretString::from(value.to_string())));
    }
    Ok(out)
}

fn parse_value(key: &str, rest: &str) -> Result<Zeroizing<String>, DotenvProblem> {
    let mut value = Zeroizing::new(String::new());
    let key = || key.to_owned();
    if let Some(body) = rest.strip_prefix('\'') {
        let end = body
            .find('\'')
            .ok_or_else(|| DotenvProblem::UnterminatedSingle { key: key() })?;
        value.push_str(&body[..end]);
        check_tail(&body[end + 1..]).map_err(|_| DotenvProblem::AfterQuote { key: key() })?;
    } else if let Some(body) = rest.strip_prefix('"') {
        let end = unescape_double(body, &mut value)
            .ok_or_else(|| DotenvProblem::UnterminatedDouble { key: key() })?;
        check_tail(&body[end + 1..]).map_err(|_| DotenvProblem::AfterQuote { key: key() })?;
    } else {
        // Unquoted: an inline comment starts at " #".
        let cut = rest.find(" #").unwrap_or(rest.len());
        value.push_str(rest[..cut].trim_end());
    }
    Ok(value)
}

/// Unescape a double-quoted body into `value`; returns the index of the closing quote.
fn unescape_double(body: &str, value: &mut String) -> Option<usize> {
    let mut chars = body.char_indices();
    while let Some((i, c)) = chars.next() {
        match c {
            '"' => return Some(i),
            '\\' => match chars.next().map(|(_, c)| c)? {
                'n' => value.push('\n'),
                'r' => value.push('\r'),
                't' => value.push('\t'),
                other => value.push(other),
            },
            c => value.push(c),
        }
    }
    None
}

fn check_tail(tail: &str) -> Result<(), ()> {
    let tail = tail.trim();
    if tail.is_empty() || tail.starts_with('#') {
        Ok(())
    } else {
        Err(())
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
    fn a_byte_order_mark_is_skipped() {
        assert_eq!(pairs("\u{feff}A=1\n"), [("A".into(), "1".into())]);
    }

    #[test]
    fn dotenv_errors_name_the_line_not_the_value() {
        let (line, problem) = parse("A=1\nB=\"SENTINEL\n").unwrap_err();
        assert_eq!(line, 2);
        assert!(!problem.to_string().contains("SENTINEL"));
        assert_eq!(parse("just words").unwrap_err().0, 1);
        assert!(parse("1BAD=x").is_err());
    }

    #[test]
    fn a_yaml_line_with_a_password_is_refused_without_echoing_it() {
        for text in [
            "DATABASE_URL: postgresql://u:S3CRET@h/db\n",
            "DATABASE_URL: postgresql://u:S3CRET@h/db?sslmode=require\n",
            "postgresql://u:S3CRET@h/db?x=1\n",
        ] {
            let (line, problem) = parse(text).unwrap_err();
            assert_eq!(line, 1);
            let shown = problem.to_string();
            assert!(
                !shown.contains("S3CRET") && !shown.contains("postgresql"),
                "{shown}"
            );
        }
        assert_eq!(
            parse("DATABASE_URL: postgresql://u:S3CRET@h/db\n")
                .unwrap_err()
                .1,
            DotenvProblem::NoEquals { yaml_like: true }
        );
    }

    mod props {
        use super::*;
        use proptest::prelude::*;

        /// `value` written as a double-quoted dotenv value.
        fn quoted(value: &str) -> String {
            let mut out = String::from("\"");
            for c in value.chars() {
                match c {
                    '"' => out.push_str("\\\""),
                    '\\' => out.push_str("\\\\"),
                    '\n' => out.push_str("\\n"),
                    '\r' => out.push_str("\\r"),
                    '\t' => out.push_str("\\t"),
                    c => out.push(c),
                }
            }
            out.push('"');
            out
        }

        proptest! {
            #[test]
            fn never_panics_on_any_text(text in any::<String>()) {
                let _ = parse(&text);
            }

            #[test]
            fn never_panics_on_dotenv_like_text(text in "(export |#| )?[A-Z_=\"'\\\\# a-z\n\u{feff}]{0,60}") {
                let _ = parse(&text);
            }

            #[test]
            fn quoted_values_round_trip(
                entries in proptest::collection::vec(("[A-Z_][A-Z0-9_]{0,10}", any::<String>()), 0..6),
                export in any::<bool>(),
            ) {
                let text: String = entries
                    .iter()
                    .map(|(k, v)| format!("{}{k}={} # note\n", if export { "export " } else { "" }, quoted(v)))
                    .collect();
                let got: Vec<(String, String)> = parse(&text)
                    .map_err(|(line, p)| TestCaseError::fail(format!("line {line}: {p}")))?
                    .into_iter()
                    .map(|(k, v)| (k, v.expose_secret().to_owned()))
                    .collect();
                prop_assert_eq!(got, entries);
            }

            #[test]
            fn single_quoted_values_are_literal(key in "[A-Za-z_][A-Za-z0-9_]{0,10}", value in "[^'\n\r]{0,30}") {
                let got = pairs(&format!("{key}='{value}'\n"));
                prop_assert_eq!(got, vec![(key, value)]);
            }

            #[test]
            fn errors_never_quote_the_value(key in "[A-Z_]{1,8}", value in "SNTL[^'\n\r]{0,20}") {
                for text in [format!("{key}='{value}"), format!("{key}=\"{value}"), format!("{key}='{value}' x")] {
                    if let Err((line, problem)) = parse(&text) {
                        prop_assert_eq!(line, 1);
                        prop_assert!(!problem.to_string().contains("SNTL"), "{problem}");
                    }
                }
            }
        }
    }
}
