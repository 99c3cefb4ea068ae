//! `verify --wait` progress as a person sees it: on a terminal (util-linux `script`, at 80
//! and 160 columns) the status line fits the width and its timer ticks every second;
//! piped, a line is printed only when more than its timer changed.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a failed unwrap is a failed test

use std::time::Duration;

#[path = "common/terminal.rs"]
mod terminal;

use todo_e2e::harness::{TestEnv, bin_dir, run};

const NS: &str = "todo";

/// The chart installed, not waited for: pods take seconds to become ready.
fn recovering() -> TestEnv {
    let env = TestEnv::start("timings: {scheduleMs: 200, startMs: 600, readyMs: 4500}\n");
    env.install_chart("todo", NS, "", Duration::ZERO)
        .expect_code(0);
    env
}

/// The text between escape sequences, one entry per redraw or line.
fn rows(out: &str) -> Vec<String> {
    let plain = regex_lite_strip(out);
    plain
        .split(['\r', '\n'])
        .map(str::to_owned)
        .filter(|l| !l.is_empty())
        .collect()
}

/// `out` without CSI escape sequences.
fn regex_lite_strip(out: &str) -> String {
    let mut text = String::new();
    let mut chars = out.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\x1b' && chars.peek() == Some(&'[') {
            chars.next();
            for d in chars.by_ref() {
                if d.is_ascii_alphabetic() {
                    break;
                }
            }
        } else {
            text.push(c);
        }
    }
    text
}

/// The seconds of a `[ Ns/Ts]` timer in `row`.
fn timer(row: &str) -> Option<u64> {
    let start = row.find('[')?;
    let end = row[start..].find("s/")? + start;
    row[start + 1..end].trim().parse().ok()
}

#[test]
fn piped_progress_prints_only_changes() {
    let env = recovering();
    let r = run(env
        .kubectl()
        .args(["todo", "verify", "-n", NS, "--wait", "--timeout", "60s"]))
    .expect_code(0);
    let lines: Vec<String> = r
        .stderr
        .lines()
        .filter(|l| l.contains("waiting for release"))
        .map(|l| {
            let (head, tail) = l.split_once(']').unwrap_or((l, ""));
            format!("{}{tail}", &head[..head.find('[').unwrap_or(head.len())])
        })
        .collect();
    assert!(!lines.is_empty(), "{}", r.stderr);
    for pair in lines.windows(2) {
        assert_ne!(
            pair[0], pair[1],
            "a line that says nothing new:\n{}",
            r.stderr
        );
    }
}

#[test]
fn terminal_progress_fits_80_and_160_columns_and_ticks() {
    if !terminal::available() {
        return;
    }
    for columns in [80, 160] {
        let env = recovering();
        let bin = bin_dir().join("kubectl-todo-verify");
        let line = format!(
            "stty cols {columns} rows 40; exec {} -n {NS} --wait --timeout 60s",
            bin.display()
        );
        let (code, text) = terminal::run(&env, &line, Duration::ZERO, b"");
        assert_eq!(code, 0, "{text}");
        let status: Vec<String> = rows(&text)
            .into_iter()
            .filter(|r| r.contains("waiting for release"))
            .collect();
        assert!(!status.is_empty(), "{text}");
        for r in &status {
            assert!(
                r.chars().count() < columns,
                "{} columns at {columns}: {r}",
                r.chars().count()
            );
        }
        let mut seconds: Vec<u64> = status.iter().filter_map(|r| timer(r)).collect();
        seconds.dedup();
        assert!(seconds.len() >= 3, "the timer ticks: {seconds:?}\n{text}");
    }
}
