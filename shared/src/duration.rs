//! kubectl-style durations for `--timeout` and `--request-timeout`: `500ms`, `5s`, `2m`,
//! `1h`, `1m30s`, `1.5s` or bare seconds. Pure; never panics, whatever the input.

use std::time::Duration;

/// The longest duration accepted: Go's `time.Duration` tops out near 292 years, and a
/// deadline beyond a year is a typo.
pub const MAX_DURATION: Duration = Duration::from_secs(366 * 24 * 3600);

/// Parse a kubectl-style duration. The error says what is wrong, never more than the text.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    if text.is_empty() {
        return Err("empty duration (use e.g. 30s, 2m, 1m30s)".into());
    }
    let shown = crate::redact::printable(&text.chars().take(40).collect::<String>());
    let invalid = || format!("invalid duration {shown:?} (use e.g. 30s, 2m, 1m30s)");
    let too_long = || format!("duration {shown:?} is too long (at most 366 days)");
    if text.bytes().all(|b| b.is_ascii_digit()) {
        let secs: u64 = text.parse().map_err(|_| too_long())?;
        return Some(Duration::from_secs(secs))
            .filter(|d| *d <= MAX_DURATION)
            .ok_or_else(too_long);
    }
    let mut total = Duration::ZERO;
    let mut rest = text;
    while !rest.is_empty() {
        let digits = rest
            .find(|c: char| !c.is_ascii_digit() && c != '.')
            .unwrap_or(rest.len());
        if digits == 0 {
            return Err(invalid());
        }
        let value: f64 = rest[..digits].parse().map_err(|_| invalid())?;
        rest = &rest[digits..];
        let unit_len = rest
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len());
        let scale = match &rest[..unit_len] {
            "ms" => 0.001,
            "s" => 1.0,
            "m" => 60.0,
            "h" => 3600.0,
            _ => return Err(format!("invalid duration {shown:?} (units: ms, s, m, h)")),
        };
        rest = &rest[unit_len..];
        let part = Duration::try_from_secs_f64(value * scale).map_err(|_| too_long())?;
        total = total.checked_add(part).ok_or_else(too_long)?;
        if total > MAX_DURATION {
            return Err(too_long());
        }
    }
    Ok(total)
}

/// A duration as people read it: `850ms`, `3.2s`, `1m05s`, `2h05m`.
pub fn format_duration(d: Duration) -> String {
    let ms = d.as_millis();
    if ms < 1000 {
        format!("{ms}ms")
    } else if ms < 60_000 {
        let tenths = ms / 100;
        if tenths.is_multiple_of(10) {
            format!("{}s", tenths / 10)
        } else {
            format!("{}.{}s", tenths / 10, tenths % 10)
        }
    } else if ms < 3_600_000 {
        format!("{}m{:02}s", ms / 60_000, (ms % 60_000) / 1000)
    } else {
        format!("{}h{:02}m", ms / 3_600_000, (ms % 3_600_000) / 60_000)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_duration_accepts_kubectl_forms() {
        assert_eq!(parse_duration("30").unwrap(), Duration::from_secs(30));
        assert_eq!(parse_duration("30s").unwrap(), Duration::from_secs(30));
        assert_eq!(parse_duration("2m").unwrap(), Duration::from_secs(120));
        assert_eq!(parse_duration("1m30s").unwrap(), Duration::from_secs(90));
        assert_eq!(parse_duration("1.5s").unwrap(), Duration::from_millis(1500));
        assert_eq!(parse_duration("250ms").unwrap(), Duration::from_millis(250));
        assert_eq!(parse_duration("0").unwrap(), Duration::ZERO);
    }

    #[test]
    fn parse_duration_rejects_garbage() {
        for bad in ["", "soon", "5 parsecs", "-5s", "5x", "1..2s", "s", "1e3s"] {
            assert!(parse_duration(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn parse_duration_refuses_overflow_without_panicking() {
        for huge in [
            "99999999999999999999s",
            "99999999999999999999",
            "5000000000000000h",
            "367d",
            "9000h",
            "1e308s",
        ] {
            assert!(parse_duration(huge).is_err(), "{huge:?}");
        }
        assert!(parse_duration("8784h").is_ok());
    }

    #[test]
    fn durations_format_short_and_readable() {
        assert_eq!(format_duration(Duration::from_millis(850)), "850ms");
        assert_eq!(format_duration(Duration::from_millis(3240)), "3.2s");
        assert_eq!(format_duration(Duration::from_secs(5)), "5s");
        assert_eq!(format_duration(Duration::from_secs(65)), "1m05s");
        assert_eq!(format_duration(Duration::from_secs(7500)), "2h05m");
    }

    mod props {
        use super::*;
        use proptest::prelude::*;

        proptest! {
            #[test]
            fn never_panics_and_stays_bounded(text in any::<String>()) {
                if let Ok(d) = parse_duration(&text) {
                    prop_assert!(d <= MAX_DURATION);
                }
            }

            #[test]
            fn duration_like_text_never_panics(text in "[0-9.]{0,25}(ms|s|m|h|d|x|)[0-9.]{0,25}(ms|s|m|h|)") {
                if let Ok(d) = parse_duration(&text) {
                    prop_assert!(d <= MAX_DURATION);
                }
            }

            #[test]
            fn errors_quote_at_most_forty_printable_characters(text in any::<String>()) {
                if let Err(e) = parse_duration(&text) {
                    prop_assert!(!e.chars().any(char::is_control), "{e:?}");
                    prop_assert!(e.chars().count() <= 40 * 10 + 60, "{e:?}");
                }
            }

            #[test]
            fn whole_units_round_trip(n in 0u64..=8784, unit in 0usize..4) {
                let (suffix, secs) = [("ms", 0.001), ("s", 1.0), ("m", 60.0), ("h", 3600.0)][unit];
                let want = Duration::from_secs_f64(n as f64 * secs);
                prop_assert_eq!(parse_duration(&format!("{n}{suffix}")), Ok(want));
            }

            #[test]
            fn formatted_durations_read_back_close(ms in 0u64..MAX_DURATION.as_millis() as u64) {
                let d = Duration::from_millis(ms);
                let text = format_duration(d);
                let back = parse_duration(&text);
                prop_assert!(back.is_ok(), "{text:?}: {back:?}");
                let back = back.unwrap_or_default();
                // The text truncates to ms, 0.1 s, 1 s or 1 m by size.
                let step = Duration::from_secs(if ms >= 3_600_000 { 60 } else { 1 });
                let slack = Duration::from_micros(1);
                prop_assert!(back <= d + slack && d < back + step, "{d:?} -> {text:?} -> {back:?}");
            }
        }
    }
}
