//! Reading what the user hands us (a certificate, a dotenv file, a values file, a value on
//! stdin) with a size limit that says so when exceeded (`--cert /dev/zero` ends at once),
//! and the errors about such input: they name the file, the line and what is wrong, never
//! the content (a values file or a dotenv file may hold secrets; the YAML parser's own
//! messages quote the input, so they are never shown).

use std::io::Read as _;
use std::path::{Path, PathBuf};

use zeroize::Zeroizing;

/// The largest certificate (PEM, possibly several) read.
pub const CERT_LIMIT: u64 = 256 * 1024;
/// The largest dotenv file read.
pub const DOTENV_LIMIT: u64 = 1024 * 1024;
/// The largest values file (sealed or plaintext) or chart schema read.
pub const VALUES_LIMIT: u64 = 4 * 1024 * 1024;
/// The largest value read from stdin: a Kubernetes Secret holds at most 1 MiB.
pub const STDIN_VALUE_LIMIT: u64 = 1024 * 1024;

/// Where input came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    /// A file.
    File(PathBuf),
    /// Standard input.
    Stdin,
}

impl Origin {
    /// A file origin.
    pub fn file(path: &Path) -> Self {
        Origin::File(path.to_path_buf())
    }
}

impl std::fmt::Display for Origin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Origin::File(p) => write!(f, "{}", crate::redact::printable(&p.display().to_string())),
            Origin::Stdin => f.write_str("standard input"),
        }
    }
}

/// What is wrong with one line of a dotenv file. Never holds the line's text.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DotenvProblem {
    /// No `=` on the line.
    #[error("expected KEY=value{}", if *.yaml_like { " (dotenv files use `=`, not YAML's `KEY: value`)" } else { "" })]
    NoEquals {
        /// The line has a `:` (someone wrote YAML).
        yaml_like: bool,
    },
    /// The text before `=` is not a variable name.
    #[error(
        "the name before `=` is not a valid variable name (letters, digits and _, not starting with a digit)"
    )]
    BadName,
    /// A single-quoted value does not end.
    #[error("{key}: unterminated single quote")]
    UnterminatedSingle {
        /// The variable.
        key: String,
    },
    /// A double-quoted value does not end.
    #[error("{key}: unterminated double quote")]
    UnterminatedDouble {
        /// The variable.
        key: String,
    },
    /// Text after a closing quote.
    #[error("{key}: unexpected text after the closing quote")]
    AfterQuote {
        /// The variable.
        key: String,
    },
}

/// Input that could not be read or understood. Display never contains the input's content.
#[derive(Debug, thiserror::Error)]
pub enum InputError {
    /// The OS refused the read (missing file, permissions).
    #[error("cannot read {origin}: {source}")]
    Read {
        /// What was read.
        origin: Origin,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// The input is larger than its limit.
    #[error("{origin} is larger than {} (the limit for {what}); is it the right file?", human(*.limit))]
    TooLarge {
        /// What was read.
        origin: Origin,
        /// What kind of input it should have been.
        what: &'static str,
        /// The limit in bytes.
        limit: u64,
    },
    /// Not UTF-8 text.
    #[error("{origin}: line {line}: not UTF-8 text")]
    NotUtf8 {
        /// What was read.
        origin: Origin,
        /// The first line with invalid bytes.
        line: usize,
    },
    /// A dotenv line that cannot be read.
    #[error("{origin}: line {line}: {problem}")]
    Dotenv {
        /// The file.
        origin: Origin,
        /// The line number (1-based).
        line: usize,
        /// What is wrong.
        problem: DotenvProblem,
    },
    /// Not YAML at all.
    #[error("{origin}: {}not valid YAML", at(*.line, *.column))]
    Yaml {
        /// The file.
        origin: Origin,
        /// Where the parser stopped, when it knows.
        line: Option<u64>,
        /// The column there.
        column: Option<u64>,
    },
    /// YAML, but not the expected document (a field missing or of the wrong type).
    #[error("{origin}: {problem}")]
    Shape {
        /// The file.
        origin: Origin,
        /// What is wrong, naming fields, never values.
        problem: String,
    },
}

fn at(line: Option<u64>, column: Option<u64>) -> String {
    match (line, column) {
        (Some(l), Some(c)) => format!("line {l}, column {c}: "),
        (Some(l), None) => format!("line {l}: "),
        _ => String::new(),
    }
}

fn human(bytes: u64) -> String {
    if bytes >= 1024 * 1024 {
        format!("{} MiB", bytes / (1024 * 1024))
    } else {
        format!("{} KiB", bytes / 1024)
    }
}

/// Read at most `limit` bytes from `reader`; more is [`InputError::TooLarge`]. The buffer is
/// wiped when dropped (the input may be a secret).
fn read_limited(
    reader: impl std::io::Read,
    origin: &Origin,
    what: &'static str,
    limit: u64,
) -> Result<Zeroizing<Vec<u8>>, InputError> {
    let mut buf = Zeroizing::new(Vec::new());
    reader
        .take(limit.saturating_add(1))
        .read_to_end(&mut buf)
        .map_err(|source| InputError::Read {
            origin: origin.clone(),
            source,
        })?;
    if buf.len() as u64 > limit {
        return Err(InputError::TooLarge {
            origin: origin.clone(),
            what,
            limit,
        });
    }
    Ok(buf)
}

fn into_text(bytes: Zeroizing<Vec<u8>>, origin: &Origin) -> Result<Zeroizing<String>, InputError> {
    match std::str::from_utf8(&bytes) {
        Ok(text) => Ok(Zeroizing::new(text.to_owned())),
        Err(e) => {
            let line = 1 + bytes[..e.valid_up_to()]
                .iter()
                .filter(|b| **b == b'\n')
                .count();
            Err(InputError::NotUtf8 {
                origin: origin.clone(),
                line,
            })
        }
    }
}

/// Read a UTF-8 text file of at most `limit` bytes.
pub fn read_file(
    path: &Path,
    what: &'static str,
    limit: u64,
) -> Result<Zeroizing<String>, InputError> {
    let origin = Origin::file(path);
    let file = std::fs::File::open(path).map_err(|source| InputError::Read {
        origin: origin.clone(),
        source,
    })?;
    into_text(read_limited(file, &origin, what, limit)?, &origin)
}

/// Read standard input as UTF-8 text of at most `limit` bytes.
pub fn read_stdin(what: &'static str, limit: u64) -> Result<Zeroizing<String>, InputError> {
    let origin = Origin::Stdin;
    into_text(
        read_limited(std::io::stdin().lock(), &origin, what, limit)?,
        &origin,
    )
}

/// Parse YAML text into a generic document, reporting only where it failed (the parser's
/// message and snippet would quote the text).
pub fn yaml_document(origin: &Origin, text: &str) -> Result<serde_json::Value, InputError> {
    let options = serde_saphyr::options! { with_snippet: false };
    serde_saphyr::from_str_with_options::<serde_json::Value>(text, options).map_err(|e| {
        let location = e.location();
        InputError::Yaml {
            origin: origin.clone(),
            line: location.map(|l| l.line()),
            column: location.map(|l| l.column()),
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endless_input_stops_at_the_limit() {
        let origin = Origin::file(Path::new("/dev/zero"));
        let err = read_limited(std::io::repeat(0), &origin, "a certificate", 1024).unwrap_err();
        assert!(matches!(err, InputError::TooLarge { limit: 1024, .. }));
        assert!(
            err.to_string().contains("/dev/zero is larger than 1 KiB"),
            "{err}"
        );
    }

    #[test]
    fn invalid_utf8_names_the_line_only() {
        let bytes = Zeroizing::new(b"A=1\nB=SNTL\xff\n".to_vec());
        let err = into_text(bytes, &Origin::Stdin).unwrap_err();
        assert_eq!(err.to_string(), "standard input: line 2: not UTF-8 text");
    }

    #[test]
    fn yaml_errors_never_quote_the_text() {
        let origin = Origin::file(Path::new("bad.yaml"));
        let err = yaml_document(&origin, "a: [SNTL\n  b: {\n").unwrap_err();
        let text = err.to_string();
        assert!(
            text.starts_with("bad.yaml: ") && text.ends_with("not valid YAML"),
            "{text}"
        );
        assert!(!text.contains("SNTL"));
    }

    #[test]
    fn a_dotenv_line_parses_as_a_yaml_string() {
        let origin = Origin::file(Path::new(".env"));
        let doc = yaml_document(&origin, "DATABASE_URL=postgresql://u:S3CRET@h/db\n").unwrap();
        assert!(doc.is_string());
    }
}
