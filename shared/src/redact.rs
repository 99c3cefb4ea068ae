//! Keeping secrets and terminal control sequences out of what the suite prints.
//!
//! [`redact`] removes secret-looking values from text that came from outside (log lines, a
//! server's messages, a health endpoint's body); [`printable`] removes control characters
//! (terminal escapes such as `\x1b[2J` or `\x1b]0;title\x07`) from anything read from the
//! cluster before it reaches a terminal. Redaction is best effort on foreign text: the
//! suite's own messages never contain a secret in the first place.

use std::sync::LazyLock;

use regex::Regex;

#[allow(clippy::expect_used)] // a constant pattern, tested below
static URL_PASSWORD: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"([A-Za-z][A-Za-z0-9+.\-]*://[^:/@\s]*:)(\S+)@").expect("constant regex")
});
#[allow(clippy::expect_used)] // a constant pattern, tested below
static SECRET_ASSIGNMENT: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r#"(?i)([A-Za-z0-9_.\-]*(?:password|passwd|pwd|secret|token|key)[A-Za-z0-9_.\-]*["']?\s*[=:]\s*)("[^"]*"|'[^']*'|[^\s]+)"#,
    )
    .expect("constant regex")
});
#[allow(clippy::expect_used)] // a constant pattern, tested below
static BEARER: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(?i)(bearer\s+)[A-Za-z0-9\-._~+/]+=*").expect("constant regex"));
#[allow(clippy::expect_used)] // a constant pattern, tested below
static SK_KEY: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"\bsk-[A-Za-z0-9_\-]{8,}").expect("constant regex"));

/// Remove secrets from a log line: URL passwords (`scheme://user:PASS@`, up to the last `@`
/// of the token, since passwords may contain `@`), values of
/// `key=value` / `KEY: value` / `"key": "value"` whose name contains PASSWORD, SECRET, TOKEN
/// or KEY, bearer tokens, and `sk-...` API keys. Each is replaced by `***`.
pub fn redact(line: &str) -> String {
    let s = URL_PASSWORD.replace_all(line, "${1}***@");
    let s = BEARER.replace_all(&s, "${1}***");
    let s = SK_KEY.replace_all(&s, "sk-***");
    let s = SECRET_ASSIGNMENT.replace_all(&s, |c: &regex::Captures<'_>| {
        let value = &c[2];
        let quoted = value.starts_with('"') || value.starts_with('\'');
        // Already redacted above (`***`, `sk-***`); a value that merely ends in `***` is not.
        if matches!(value.trim_matches(['"', '\'']), "***" | "sk-***") {
            format!("{}{}", &c[1], value)
        } else if quoted {
            let q = &value[..1];
            format!("{}{q}***{q}", &c[1])
        } else {
            format!("{}***", &c[1])
        }
    });
    s.into_owned()
}

/// `text` on one line, with every control character removed: newlines, carriage returns and
/// tabs become spaces, escape sequences lose their ESC (and so their effect), the rest of the
/// C0 and C1 ranges and DEL are dropped.
pub fn printable(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '\n' | '\r' | '\t' => out.push(' '),
            c if c.is_control() => {}
            // Bidirectional overrides can make a name read as something else.
            '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' => {}
            c => out.push(c),
        }
    }
    out
}

/// [`printable`] and [`redact`]: for one line of foreign text shown to a person.
pub fn sanitize(text: &str) -> String {
    redact(&printable(text))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_unquoted_value_is_hidden_up_to_the_next_space_whatever_its_punctuation() {
        for value in [
            "ab,cd",
            "ab;cd",
            "ab&cd",
            "ab\"cd",
            "ab'cd",
            "ab}cd",
            "a,b;c&d}e",
        ] {
            let line = format!("connecting with DB_PASSWORD={value} to db");
            let out = redact(&line);
            assert_eq!(out, "connecting with DB_PASSWORD=*** to db", "{line}");
        }
    }

    #[test]
    fn redact_removes_url_passwords() {
        let line = "connecting to postgresql://neondb_owner:npg_S3cr3t@ep-x.neon.tech/todo failed";
        let out = redact(line);
        assert!(!out.contains("npg_S3cr3t"), "{out}");
        assert!(
            out.contains("postgresql://neondb_owner:***@ep-x.neon.tech/todo"),
            "{out}"
        );
    }

    #[test]
    fn redact_removes_key_values_bearer_and_sk_keys() {
        for (line, secret) in [
            (
                "BETTER_AUTH_SECRET=abcdefabcdefabcdef more",
                "abcdefabcdefabcdef",
            ),
            ("OPENAI_API_KEY: hunter2hunter2", "hunter2hunter2"),
            (r#"{"password": "p@ss w0rd", "user": "x"}"#, "p@ss w0rd"),
            ("Authorization: Bearer eyJhbGciOi.abc.def", "eyJhbGciOi"),
            ("using key sk-proj-ABCDEF1234567890", "ABCDEF1234567890"),
            ("token=t0k3n&x=1", "t0k3n"),
        ] {
            let out = redact(line);
            assert!(!out.contains(secret), "{line:?} -> {out:?}");
            assert!(out.contains("***"), "{out}");
        }
    }

    #[test]
    fn redact_leaves_ordinary_lines_alone() {
        let line = "INFO: Uvicorn running on http://0.0.0.0:8000 (Press CTRL+C to quit)";
        assert_eq!(redact(line), line);
    }

    #[test]
    fn redact_url_password_with_at_signs_hides_all_of_it() {
        let out = redact("postgresql://reduser:SNTL@REDACT2@host/db");
        assert_eq!(out, "postgresql://reduser:***@host/db");
    }

    #[test]
    fn printable_drops_escapes_and_keeps_text() {
        assert_eq!(printable("a\x1b[2Jb\x1b]0;pwned\x07c"), "a[2Jb]0;pwnedc");
        assert_eq!(printable("line1\nline2\tx"), "line1 line2 x");
        assert_eq!(printable("caf\u{e9} \u{9b}1m"), "caf\u{e9} 1m");
        assert_eq!(printable("ab\u{202e}cd"), "abcd");
    }

    #[test]
    fn a_value_ending_in_stars_is_still_hidden() {
        // Found while writing the property below (its passwords hold `*`): `PASSWORD=abc***` was taken as already redacted.
        assert_eq!(redact("DB_PASSWORD=hunter2***"), "DB_PASSWORD=***");
        assert_eq!(redact("API_KEY=sk-***"), "API_KEY=sk-***");
        assert_eq!(redact(r#"{"token": "***"}"#), r#"{"token": "***"}"#);
    }

    mod props {
        use super::*;
        use proptest::prelude::*;

        /// Password characters, `@`, `:` and `/` included; SNTL marks the secret part.
        const PASSWORD: &str =
            "[A-Za-z0-9@:/%!#$*+=?._~-]{0,12}SNTL[A-Za-z0-9@:/%!#$*+=?._~-]{0,12}";
        /// Names and hosts from letters that cannot spell a secret-looking key.
        const WORD: &str = "[a-j][a-j0-9]{0,8}";

        proptest! {
            #[test]
            fn url_passwords_never_survive(
                scheme in "(postgresql|postgres|redis|https|mongodb\\+srv)",
                user in WORD,
                password in PASSWORD,
                host in WORD,
                before in "[a-j ]{0,10}",
                after in "(/[a-j]{1,6})?( [a-j]{1,6})?",
            ) {
                let line = format!("{before}{scheme}://{user}:{password}@{host}.db{after}");
                let out = redact(&line);
                prop_assert!(!out.contains("SNTL"), "{line:?} -> {out:?}");
                let kept = format!("{scheme}://{user}:***@{host}.db");
                prop_assert!(out.contains(&kept), "{line:?} -> {out:?}");
            }

            #[test]
            fn assigned_secrets_never_survive(
                name in "(DB_PASSWORD|BETTER_AUTH_SECRET|OPENAI_API_KEY|token|passwd|Pwd)",
                sep in "(=|: | = |\": \")",
                password in "[A-Za-z0-9@:/%!#$*+=?._~-]{0,12}SNTL[A-Za-z0-9@:/%!#$*+=?._~-]{0,12}(\\*\\*\\*)?",
            ) {
                let line = if sep.starts_with('"') {
                    format!("{{\"{name}{sep}{password}\"}}")
                } else {
                    format!("{name}{sep}{password} next")
                };
                let out = redact(&line);
                prop_assert!(!out.contains("SNTL"), "{line:?} -> {out:?}");
                prop_assert!(out.contains(name.as_str()), "{line:?} -> {out:?}");
            }

            #[test]
            fn bearer_tokens_never_survive(token in "[A-Za-z0-9._~+/-]{0,20}SNTL[A-Za-z0-9._~+/-]{0,20}=*") {
                let out = redact(&format!("Authorization: Bearer {token}"));
                prop_assert!(!out.contains("SNTL"), "{out:?}");
            }

            #[test]
            fn redaction_is_idempotent_and_never_panics(line in any::<String>()) {
                let once = redact(&line);
                prop_assert_eq!(redact(&once), once.clone());
            }

            #[test]
            fn sanitized_text_has_no_control_characters(line in any::<String>()) {
                let out = sanitize(&line);
                prop_assert!(!out.chars().any(char::is_control), "{out:?}");
                prop_assert!(!out.chars().any(|c| matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')), "{out:?}");
            }
        }
    }
}
