//! Turning verify's and preflight's [`Report`] into text: a grouped table with a one-line summary, JSON with
//! a stable schema (documented in docs/verify.md), and JUnit XML for CI. Rendering decides
//! nothing; the report already holds every verdict.

use std::fmt::Write as _;

use comfy_table::{Cell, Color, ContentArrangement, Table, presets};

use crate::verify::{CheckResult, Report, ReportKind, Status};

/// The output formats of `-o`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum Format {
    /// A grouped table and a one-line summary (the default).
    #[default]
    Table,
    /// JSON, schema `todo-kube.dev/v1` `VerifyReport` (see docs/verify.md).
    Json,
    /// The same document as `json`, as YAML.
    Yaml,
    /// JUnit XML, one test case per check.
    Junit,
}

pub use crate::error::stdout_colour;

/// Render in the chosen format.
pub fn render(report: &Report, format: Format, colour: bool) -> String {
    match format {
        Format::Table => table(report, colour),
        Format::Json => json(report),
        Format::Yaml => yaml(report),
        Format::Junit => junit(report),
    }
}

fn status_label(s: Status) -> &'static str {
    match s {
        Status::Pass => "PASS",
        Status::Warn => "WARN",
        Status::Fail => "FAIL",
        Status::Skip => "SKIP",
    }
}

fn status_colour(s: Status) -> Color {
    match s {
        Status::Pass => Color::Green,
        Status::Warn => Color::Yellow,
        Status::Fail => Color::Red,
        Status::Skip => Color::DarkGrey,
    }
}

/// The one-line summary: release, verdict, counts, time.
pub fn summary_line(report: &Report) -> String {
    let s = report.summary();
    let r = &report.release;
    let what = match report.kind {
        ReportKind::Verify => match (&r.chart, &r.chart_version, r.revision) {
            (Some(chart), Some(version), Some(rev)) => format!(
                "release {} (revision {rev}, {chart}-{version}{}) in namespace {}",
                r.name,
                r.app_version
                    .as_ref()
                    .map(|a| format!(", app {a}"))
                    .unwrap_or_default(),
                report.namespace
            ),
            _ => format!("release {} in namespace {}", r.name, report.namespace),
        },
        ReportKind::Preflight => {
            let chart = match (&r.chart, &r.chart_version) {
                (Some(chart), Some(version)) => format!(" of {chart}-{version}"),
                _ => String::new(),
            };
            match r.revision {
                Some(rev) => format!(
                    "helm upgrade {}{chart} in namespace {} (revision {rev} -> {})",
                    r.name,
                    report.namespace,
                    rev.saturating_add(1)
                ),
                None => format!(
                    "helm install {}{chart} in namespace {}",
                    r.name, report.namespace
                ),
            }
        }
    };
    let roots: Vec<&str> = report.root_causes().map(|c| c.id).collect();
    let (good, bad) = match report.kind {
        ReportKind::Verify => ("HEALTHY", "UNHEALTHY"),
        ReportKind::Preflight => ("READY", "WILL FAIL"),
    };
    let verdict = if report.healthy() {
        good.to_owned()
    } else if roots.is_empty() {
        bad.to_owned()
    } else {
        let word = if roots.len() == 1 { "cause" } else { "causes" };
        format!("{bad} (root {word}: {})", roots.join(", "))
    };
    let strict = if report.strict && s.warn > 0 {
        " (--strict: warnings count)"
    } else {
        ""
    };
    let timed_out = match (&report.permanent, report.timed_out) {
        (Some(p), _) => format!(", stopped waiting: {p} cannot heal (--no-fail-fast waits anyway)"),
        (None, true) => ", timed out waiting".to_owned(),
        (None, false) => String::new(),
    };
    format!(
        "{what}: {verdict}{strict}: {} passed, {} warnings, {} failed, {} skipped in {:.2}s{timed_out}",
        s.pass,
        s.warn,
        s.fail,
        s.skip,
        report.duration.as_secs_f64()
    )
}

fn message_cell_text(c: &CheckResult) -> String {
    let mut text = c.message.clone();
    if let Some(hint) = &c.hint
        && c.status != Status::Pass
    {
        let _ = write!(text, "\nhint: {hint}");
    }
    for d in &c.details {
        let _ = write!(text, "\n  {d}");
    }
    text
}

/// A grouped table (the group is named on its first row) followed by the summary line.
pub fn table(report: &Report, colour: bool) -> String {
    let mut t = Table::new();
    t.load_preset(presets::NOTHING);
    if colour {
        t.enforce_styling();
        t.set_content_arrangement(ContentArrangement::Dynamic);
    } else {
        t.force_no_tty();
    }
    t.set_header(vec!["GROUP", "CHECK", "STATUS", "MESSAGE"]);
    let mut last_group = "";
    for c in &report.checks {
        let group = if c.group == last_group { "" } else { c.group };
        last_group = c.group;
        let mut status = Cell::new(status_label(c.status));
        if colour {
            status = status.fg(status_colour(c.status));
        }
        t.add_row(vec![
            Cell::new(group),
            Cell::new(c.id),
            status,
            Cell::new(message_cell_text(c)),
        ]);
    }
    let mut out = t.to_string();
    let lines: Vec<&str> = out.lines().map(str::trim_end).collect();
    out = lines.join("\n");
    // On a terminal the summary is wrapped between words, never by the terminal mid-word.
    let summary = match t.width() {
        Some(width) if colour => wrap_words(&summary_line(report), usize::from(width)),
        _ => summary_line(report),
    };
    let summary = if colour {
        let code = if report.healthy() { "32" } else { "31" };
        format!("\x1b[{code}m{summary}\x1b[0m")
    } else {
        summary
    };
    format!("{out}\n\n{summary}\n")
}

/// `text` broken into lines of at most `width` columns at spaces (a word longer than the
/// width gets a line of its own).
fn wrap_words(text: &str, width: usize) -> String {
    let mut out = String::new();
    let mut line_len = 0;
    for word in text.split(' ') {
        let len = word.chars().count();
        if line_len > 0 && line_len + 1 + len > width {
            out.push('\n');
            line_len = 0;
        } else if line_len > 0 {
            out.push(' ');
            line_len += 1;
        }
        out.push_str(word);
        line_len += len;
    }
    out
}

/// Schema identifier of the JSON output. Changes to the schema that remove or rename a field
/// bump it; adding fields does not.
pub const JSON_API_VERSION: &str = "todo-kube.dev/v1";

#[derive(serde::Serialize)]
#[serde(rename_all = "camelCase")]
struct JsonReport<'a> {
    api_version: &'static str,
    kind: &'static str,
    /// verify: the release is healthy.
    #[serde(skip_serializing_if = "Option::is_none")]
    healthy: Option<bool>,
    /// preflight: `helm install/upgrade` of these values is expected to succeed.
    #[serde(skip_serializing_if = "Option::is_none")]
    ready: Option<bool>,
    strict: bool,
    timed_out: bool,
    /// The failure that cannot heal which ended `--wait` early.
    #[serde(skip_serializing_if = "Option::is_none")]
    permanent: Option<&'a str>,
    context: &'a str,
    platform: &'a crate::platform::Platform,
    namespace: &'a str,
    server: &'a str,
    release: &'a crate::verify::ReleaseInfo,
    summary: crate::verify::Summary,
    duration_ms: u128,
    /// preflight: what the install would create.
    #[serde(skip_serializing_if = "Option::is_none")]
    plan: Option<&'a serde_json::Value>,
    checks: &'a [CheckResult],
}

fn document(report: &Report) -> JsonReport<'_> {
    JsonReport {
        api_version: JSON_API_VERSION,
        kind: match report.kind {
            ReportKind::Verify => "VerifyReport",
            ReportKind::Preflight => "PreflightReport",
        },
        healthy: (report.kind == ReportKind::Verify).then(|| report.healthy()),
        ready: (report.kind == ReportKind::Preflight).then(|| report.healthy()),
        strict: report.strict,
        timed_out: report.timed_out,
        permanent: report.permanent.as_deref(),
        context: &report.context,
        platform: &report.platform,
        namespace: &report.namespace,
        server: &report.server,
        release: &report.release,
        summary: report.summary(),
        duration_ms: report.duration.as_millis(),
        plan: report.plan.as_ref(),
        checks: &report.checks,
    }
}

/// The JSON document (pretty-printed, newline-terminated).
pub fn json(report: &Report) -> String {
    let mut s = serde_json::to_string_pretty(&document(report))
        .unwrap_or_else(|e| format!("{{\"error\":\"{e}\"}}"));
    s.push('\n');
    s
}

/// The JSON document as YAML: the same fields and values, read through `serde_json::Value`
/// so both formats serialise one tree.
pub fn yaml(report: &Report) -> String {
    let tree = serde_json::to_value(document(report)).unwrap_or(serde_json::Value::Null);
    let mut s = serde_saphyr::to_string(&tree).unwrap_or_else(|e| format!("error: {e}\n"));
    if !s.ends_with('\n') {
        s.push('\n');
    }
    s
}

fn xml_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for ch in s.chars() {
        match ch {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c if (c as u32) < 0x20 && c != '\n' && c != '\t' => {}
            c => out.push(c),
        }
    }
    out
}

/// A test case's text: the hint and the detail lines.
fn case_body(c: &CheckResult) -> String {
    let mut b = c
        .hint
        .as_ref()
        .map(|h| format!("hint: {h}"))
        .unwrap_or_default();
    for d in &c.details {
        if !b.is_empty() {
            b.push('\n');
        }
        b.push_str(d);
    }
    b
}

/// JUnit XML: one `<testcase>` per check (classname = group); fail → `<failure>`, skip →
/// `<skipped>`, warn → `<failure>` with `--strict`, else passing with the warning in
/// `<system-out>`.
pub fn junit(report: &Report) -> String {
    let s = report.summary();
    let failures = report.blocking().count();
    let secs = report.duration.as_secs_f64();
    let command = match report.kind {
        ReportKind::Verify => "verify",
        ReportKind::Preflight => "preflight",
    };
    let suite = format!(
        "kubectl todo {command} {}/{}",
        report.namespace, report.release.name
    );
    let mut x = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let _ = writeln!(
        x,
        "<testsuites name=\"{}\" tests=\"{}\" failures=\"{failures}\" errors=\"0\" skipped=\"{}\" time=\"{secs:.3}\">",
        xml_escape(&suite),
        report.checks.len(),
        s.skip
    );
    let _ = writeln!(
        x,
        "  <testsuite name=\"{}\" tests=\"{}\" failures=\"{failures}\" errors=\"0\" skipped=\"{}\" time=\"{secs:.3}\">",
        xml_escape(&suite),
        report.checks.len(),
        s.skip
    );
    for c in &report.checks {
        let _ = write!(
            x,
            "    <testcase classname=\"{}\" name=\"{}\" time=\"0\"",
            xml_escape(c.group),
            xml_escape(c.id)
        );
        let body = case_body(c);
        let blocking = c.status == Status::Fail || (report.strict && c.status == Status::Warn);
        if blocking {
            let _ = writeln!(
                x,
                ">\n      <failure message=\"{}\" type=\"{}\">{}</failure>\n    </testcase>",
                xml_escape(&c.message),
                c.status.as_str(),
                xml_escape(&body)
            );
        } else if c.status == Status::Skip {
            let _ = writeln!(
                x,
                ">\n      <skipped message=\"{}\"/>\n    </testcase>",
                xml_escape(&c.message)
            );
        } else if c.status == Status::Warn {
            let _ = writeln!(
                x,
                ">\n      <system-out>warning: {}{}</system-out>\n    </testcase>",
                xml_escape(&c.message),
                if body.is_empty() {
                    String::new()
                } else {
                    format!("\n{}", xml_escape(&body))
                }
            );
        } else {
            let _ = writeln!(x, "/>");
        }
    }
    x.push_str("  </testsuite>\n</testsuites>\n");
    x
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::verify::ReleaseInfo;
    use std::time::Duration;

    fn report() -> Report {
        let mut fail = CheckResult::fail(
            "backend.pods",
            "1 of 2 backend pods: ImagePullBackOff",
            "load <it> & go",
        );
        fail.details = vec!["todo-backend-1/backend: ImagePullBackOff".into()];
        Report {
            kind: crate::verify::ReportKind::Verify,
            context: "todo-sandbox".into(),
            namespace: "todo".into(),
            server: "https://127.0.0.1:6443".into(),
            release: ReleaseInfo {
                name: "todo".into(),
                revision: Some(2),
                status: Some("deployed".into()),
                chart: Some("todo-chatbot".into()),
                chart_version: Some("0.1.0".into()),
                app_version: Some("1.0.0".into()),
            },
            checks: vec![
                CheckResult::pass("cluster.reachable", "ok"),
                CheckResult::pass("backend.rollout", "rolled out"),
                fail,
                CheckResult::warn("security.posture", "1 finding", "fix values"),
                CheckResult::skip("config.sealed-secret", "mode inline"),
            ],
            strict: false,
            duration: Duration::from_millis(42),
            timed_out: false,
            platform: crate::platform::Platform::Minikube {
                profile: "minikube".into(),
            },
            permanent: None,
            plan: None,
        }
    }

    #[test]
    fn table_groups_and_summarises_without_colour() {
        let out = table(&report(), false);
        assert!(!out.contains('\x1b'));
        assert!(out.contains("hint: load <it> & go"));
        let group_rows = out
            .lines()
            .filter(|l| l.trim_start().starts_with("backend "))
            .count();
        assert_eq!(group_rows, 1, "group named once:\n{out}");
        assert!(
            out.trim_end()
                .ends_with("UNHEALTHY (root cause: backend.pods): 2 passed, 1 warnings, 1 failed, 1 skipped in 0.04s"),
            "{out}"
        );
    }

    #[test]
    fn the_summary_wraps_between_words() {
        let line = summary_line(&report());
        let wrapped = wrap_words(&line, 80);
        assert!(
            wrapped.lines().all(|l| l.chars().count() <= 80),
            "{wrapped}"
        );
        assert_eq!(wrapped.replace('\n', " "), line);
        assert!(wrapped.lines().count() > 1);
        assert_eq!(wrap_words("a verylongword b", 4), "a\nverylongword\nb");
    }

    #[test]
    fn json_follows_the_documented_schema() {
        let v: serde_json::Value = serde_json::from_str(&json(&report())).unwrap();
        assert_eq!(v["apiVersion"], JSON_API_VERSION);
        assert_eq!(v["kind"], "VerifyReport");
        assert_eq!(v["healthy"], false);
        assert_eq!(v["release"]["chartVersion"], "0.1.0");
        assert_eq!(v["summary"]["fail"], 1);
        assert_eq!(v["durationMs"], 42);
        let c = &v["checks"][2];
        assert_eq!(
            (c["id"].as_str(), c["group"].as_str(), c["status"].as_str()),
            (Some("backend.pods"), Some("backend"), Some("fail"))
        );
        assert_eq!(c["details"][0], "todo-backend-1/backend: ImagePullBackOff");
        assert!(v["checks"][0]["hint"].is_null());
        assert_eq!(v["platform"]["name"], "minikube");
        assert_eq!(v["platform"]["profile"], "minikube");
        assert!(v.get("permanent").is_none());
    }

    #[test]
    fn a_wait_cut_short_says_what_cannot_heal() {
        let mut r = report();
        r.permanent = Some("todo-backend-1/backend: ErrImageNeverPull".into());
        let line = summary_line(&r);
        assert!(
            line.contains("stopped waiting: todo-backend-1/backend: ErrImageNeverPull cannot heal"),
            "{line}"
        );
        let v: serde_json::Value = serde_json::from_str(&json(&r)).unwrap();
        assert_eq!(v["permanent"], "todo-backend-1/backend: ErrImageNeverPull");
    }

    #[test]
    fn yaml_is_the_json_document() {
        let from_json: serde_json::Value = serde_json::from_str(&json(&report())).unwrap();
        let from_yaml: serde_json::Value = serde_saphyr::from_str(&yaml(&report())).unwrap();
        assert_eq!(from_yaml, from_json);
        assert!(yaml(&report()).contains("kind: VerifyReport"));
    }

    #[test]
    fn junit_marks_failures_and_escapes() {
        let x = junit(&report());
        assert!(x.contains("failures=\"1\"") && x.contains("skipped=\"1\""));
        assert!(x.contains("<failure message=\"1 of 2 backend pods: ImagePullBackOff\" type=\"fail\">hint: load &lt;it&gt; &amp; go"));
        assert!(x.contains("<system-out>warning: 1 finding"));
        let mut strict = report();
        strict.strict = true;
        assert!(junit(&strict).contains("failures=\"2\""));
    }
}
