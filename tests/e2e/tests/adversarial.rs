//! Hostile servers, credentials and input against every kubectl plugin binary, table-driven:
//! each case must end with the expected exit code, say what went wrong, and never panic,
//! print a sentinel secret or a raw control character. The deadline cases print how long
//! each run took (the figures docs/security.md quotes) and hold each to its contract: the
//! command's `--timeout` plus the watchdog's second, plus process start.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a failed unwrap is a failed test

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use todo_e2e::harness::bin_dir;

const SENTINEL: &str = "S3CRETsntl";

/// Accepts connections and never answers; lives as long as the test.
fn silent_server() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for conn in listener.incoming().flatten() {
            held.push(conn);
        }
    });
    format!("http://{addr}")
}

fn kubeconfig(dir: &Path, server: &str, user: &str) -> PathBuf {
    let path = dir.join("kubeconfig");
    std::fs::write(
        &path,
        format!(
            "apiVersion: v1\nkind: Config\ncurrent-context: c\nclusters:\n- name: c\n  cluster:\n    server: {server}\ncontexts:\n- name: c\n  context:\n    cluster: c\n    user: u\n    namespace: todo\nusers:\n- name: u\n  user:\n{user}"
        ),
    )
    .unwrap();
    path
}

struct Outcome {
    code: i32,
    out: String,
    elapsed: Duration,
}

fn run(bin: &str, args: &[&str], kubeconfig: &Path, dir: &Path) -> Outcome {
    let started = Instant::now();
    let out = Command::new(bin_dir().join(bin))
        .args(args)
        .env("KUBECONFIG", kubeconfig)
        .env("NO_COLOR", "1")
        .env("VAULT_TOKEN", SENTINEL)
        .current_dir(dir)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    Outcome {
        code: out.status.code().unwrap_or(-1),
        out: format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
        elapsed: started.elapsed(),
    }
}

fn clean(o: &Outcome, what: &str) {
    assert!(!o.out.contains("panicked"), "{what}: panic\n{}", o.out);
    assert!(
        !o.out.contains(SENTINEL),
        "{what}: a secret was echoed\n{}",
        o.out
    );
    assert!(
        !o.out
            .chars()
            .any(|c| c == '\x1b' || c == '\x07' || c == '\0'),
        "{what}: raw control characters\n{:?}",
        o.out
    );
}

/// The kubectl plugins and the arguments that make each contact the API server.
const COMMANDS: &[(&str, &[&str])] = &[
    ("kubectl-todo-verify", &[]),
    ("kubectl-todo-scale", &["backend", "2"]),
    ("kubectl-todo-preflight", &[]),
    ("kubectl-todo", &["verify"]),
];

/// Within the contract: --timeout, the watchdog's second, and process start and exit.
const SLACK: Duration = Duration::from_millis(2500);

fn deadline_case(user: &str, server: &str, timeout: &str, budget: Duration, want: &str) {
    let dir = tempfile::tempdir().unwrap();
    let kc = kubeconfig(dir.path(), server, user);
    for (bin, args) in COMMANDS {
        let mut all: Vec<&str> = args.to_vec();
        all.extend(["--timeout", timeout]);
        let o = run(bin, &all, &kc, dir.path());
        eprintln!(
            "{bin} {}: exit {} after {:.2}s",
            all.join(" "),
            o.code,
            o.elapsed.as_secs_f64()
        );
        clean(&o, bin);
        assert_eq!(o.code, 2, "{bin}: {}", o.out);
        assert!(o.out.contains(want), "{bin}: {}", o.out);
        assert!(o.elapsed < budget + SLACK, "{bin} took {:?}", o.elapsed);
    }
}

#[test]
fn a_silent_api_server_ends_every_command_by_its_deadline() {
    deadline_case(
        "    token: t\n",
        &silent_server(),
        "3s",
        Duration::from_secs(3),
        "did not answer",
    );
}

#[test]
fn a_hanging_exec_credential_plugin_ends_every_command_by_its_deadline() {
    deadline_case(
        "    exec:\n      apiVersion: client.authentication.k8s.io/v1\n      command: /bin/sleep\n      args: ['3600']\n      interactiveMode: Never\n",
        &silent_server(),
        "3s",
        Duration::from_secs(3),
        "did not answer",
    );
}

/// Hints name the next command for the cluster and user the command was given: the
/// `--kubeconfig` and `--context` typed, whichever path ended the run (the watchdog behind a
/// hung credential plugin, the deadline on a silent server, a refused connection).
#[test]
fn hints_carry_the_connection_flags_the_user_gave() {
    let refused = {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        format!("http://{}", listener.local_addr().unwrap())
    };
    let hung_plugin = "    exec:\n      apiVersion: client.authentication.k8s.io/v1\n      command: /bin/sleep\n      args: ['3600']\n      interactiveMode: Never\n";
    let cases = [
        ("a hung credential plugin", hung_plugin, silent_server()),
        ("a silent server", "    token: t\n", silent_server()),
        ("a refused connection", "    token: t\n", refused),
    ];
    for (what, user, server) in cases {
        let dir = tempfile::tempdir().unwrap();
        let kc = kubeconfig(dir.path(), &server, user);
        // KUBECONFIG names another file: only the flag leads to this one.
        let elsewhere = dir.path().join("elsewhere");
        std::fs::write(&elsewhere, "apiVersion: v1\nkind: Config\n").unwrap();
        let want = format!(
            "`kubectl cluster-info --kubeconfig {} --context c`",
            kc.display()
        );
        for (bin, args) in COMMANDS {
            let mut all: Vec<String> = args.iter().map(|a| a.to_string()).collect();
            all.extend(["--timeout", "2s", "--context", "c", "--kubeconfig"].map(String::from));
            all.push(kc.display().to_string());
            let all: Vec<&str> = all.iter().map(String::as_str).collect();
            let o = run(bin, &all, &elsewhere, dir.path());
            clean(&o, bin);
            assert_eq!(o.code, 2, "{what}: {bin}: {}", o.out);
            assert!(
                o.out.contains(&want),
                "{what}: {bin}: want {want}\n{}",
                o.out
            );
        }
    }
}

#[test]
fn a_failing_exec_plugin_never_shows_its_env_or_stdout() {
    let dir = tempfile::tempdir().unwrap();
    let script = dir.path().join("cred.sh");
    std::fs::write(
        &script,
        format!("#!/bin/sh\necho '{{\"status\":{{\"token\":\"{SENTINEL}\"}}}}'\necho \"VAULT_TOKEN=$VAULT_TOKEN\" >&2\nexit 3\n"),
    )
    .unwrap();
    let mut perms = std::fs::metadata(&script).unwrap().permissions();
    std::os::unix::fs::PermissionsExt::set_mode(&mut perms, 0o755);
    std::fs::set_permissions(&script, perms).unwrap();
    let user = format!(
        "    exec:\n      apiVersion: client.authentication.k8s.io/v1\n      command: {}\n      env:\n      - name: VAULT_TOKEN\n        value: {SENTINEL}\n      interactiveMode: Never\n",
        script.display()
    );
    let kc = kubeconfig(dir.path(), &silent_server(), &user);
    for (bin, args) in COMMANDS {
        let mut all: Vec<&str> = args.to_vec();
        all.extend(["--timeout", "5s"]);
        let o = run(bin, &all, &kc, dir.path());
        clean(&o, bin);
        assert_eq!(o.code, 2, "{bin}: {}", o.out);
    }
}

#[test]
fn odd_input_is_a_usage_error_never_a_panic() {
    let dir = tempfile::tempdir().unwrap();
    let server = silent_server();
    let no_scheme = server.trim_start_matches("http://").to_owned();
    let kc_no_scheme = kubeconfig(dir.path(), &no_scheme, "    token: t\n");
    let kc = {
        let d = dir.path().join("ok");
        std::fs::create_dir_all(&d).unwrap();
        kubeconfig(&d, &server, "    token: t\n")
    };
    let zero = "/dev/zero";
    let secret_line = dir.path().join("bad.yaml");
    std::fs::write(
        &secret_line,
        format!("DATABASE_URL=postgresql://u:{SENTINEL}@h/db\n"),
    )
    .unwrap();
    let bad = secret_line.to_str().unwrap();
    let escape = format!("a=\u{1b}[2J{SENTINEL}");
    let cases: Vec<(&str, Vec<&str>, &Path, &str)> = vec![
        (
            "kubectl-todo-verify",
            vec!["--timeout", "99999999999999999999s"],
            &kc,
            "--timeout",
        ),
        (
            "kubectl-todo-scale",
            vec!["backend", "2", "--timeout", "5000000000000000h"],
            &kc,
            "--timeout",
        ),
        (
            "kubectl-todo-preflight",
            vec!["--timeout", "99999999999999999999s"],
            &kc,
            "--timeout",
        ),
        (
            "kubectl-todo-verify",
            vec!["--request-timeout", "5000000000000000h"],
            &kc,
            "timeout",
        ),
        (
            "kubectl-todo-verify",
            vec!["--timeout", "2s"],
            &kc_no_scheme,
            "server",
        ),
        (
            "kubectl-todo-verify",
            vec!["--only", "nope.check"],
            &kc_no_scheme,
            "unknown check",
        ),
        (
            "kubectl-todo-preflight",
            vec!["--timeout", "2s"],
            &kc_no_scheme,
            "server",
        ),
        (
            "kubectl-todo-preflight",
            vec!["-f", zero, "--timeout", "5s"],
            &kc,
            "/dev/zero",
        ),
        (
            "kubectl-todo-preflight",
            vec!["-f", bad, "--timeout", "5s"],
            &kc,
            "bad.yaml",
        ),
        (
            "kubectl-todo-preflight",
            vec!["--set", &escape, "--set", "b[x]=1", "--timeout", "5s"],
            &kc,
            "--set",
        ),
        (
            "kubectl-todo-preflight",
            vec!["--chart", "/nonexistent", "--timeout", "5s"],
            &kc,
            "/nonexistent",
        ),
    ];
    for (bin, args, kc, want) in cases {
        let o = run(bin, &args, kc, dir.path());
        let what = format!("{bin} {}", args.join(" ").escape_debug());
        eprintln!(
            "{what}: exit {} after {:.2}s",
            o.code,
            o.elapsed.as_secs_f64()
        );
        clean(&o, &what);
        assert_eq!(o.code, 2, "{what}: {}", o.out);
        assert!(o.out.contains(want), "{what}: {}", o.out);
        assert!(o.out.contains("hint:"), "{what}: no hint\n{}", o.out);
    }
}

#[test]
fn a_failed_write_to_stdout_is_an_error_never_exit_0() {
    let dir = tempfile::tempdir().unwrap();
    let kc = kubeconfig(dir.path(), &silent_server(), "    token: t\n");
    for (bin, args) in [
        ("kubectl-todo-verify", vec!["--help"]),
        ("kubectl-todo-preflight", vec!["--help"]),
        ("kubectl-todo-scale", vec!["--help"]),
        ("kubectl-todo", vec!["completion", "bash"]),
    ] {
        let full = std::fs::OpenOptions::new()
            .write(true)
            .open("/dev/full")
            .unwrap();
        let out = Command::new(bin_dir().join(bin))
            .args(&args)
            .env("KUBECONFIG", &kc)
            .stdout(full)
            .stderr(Stdio::piped())
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!err.contains("panicked"), "{bin}: {err}");
        assert_ne!(
            out.status.code(),
            Some(0),
            "{bin} {args:?} to /dev/full: {err}"
        );
        // A closed pipe is the quiet, conventional end.
        let mut child = Command::new(bin_dir().join(bin))
            .args(&args)
            .env("KUBECONFIG", &kc)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        drop(child.stdout.take());
        let status = child.wait().unwrap();
        let mut err = String::new();
        std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut err).unwrap();
        assert!(!err.contains("panicked"), "{bin} closed pipe: {err}");
        assert_ne!(status.code(), Some(101), "{bin} closed pipe");
    }
}

/// On the sandbox: a report that cannot be written is exit 2, not 0 with the report lost; a
/// name with terminal escapes comes back without them.
#[test]
fn reports_to_a_full_disk_fail_and_escapes_in_names_are_stripped() {
    let env = todo_e2e::harness::TestEnv::start("");
    if !env.is_sandbox() {
        return;
    }
    for args in [
        vec![
            "todo",
            "verify",
            "-n",
            "default",
            "--release",
            "x",
            "-o",
            "json",
        ],
        vec!["todo", "preflight", "-n", "todo", "-o", "json"],
    ] {
        let full = std::fs::OpenOptions::new()
            .write(true)
            .open("/dev/full")
            .unwrap();
        let out = env.kubectl().args(&args).stdout(full).output().unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!err.contains("panicked"), "{args:?}: {err}");
        assert_eq!(out.status.code(), Some(2), "{args:?} to /dev/full: {err}");
    }
    let name = format!("\u{1b}[2J\u{1b}]0;pwned\u{7}{SENTINEL}");
    for sub in ["preflight", "verify"] {
        let o = todo_e2e::harness::run(env.kubectl().args([
            "todo",
            sub,
            "-n",
            "todo",
            "--release",
            &name,
        ]));
        let all = format!("{}{}", o.stdout, o.stderr);
        assert_eq!(o.code, 2, "{sub}: {all}");
        assert!(
            all.contains("is not a valid Helm release name"),
            "{sub}: {all}"
        );
        assert!(
            !all.chars().any(|c| c == '\x1b' || c == '\x07'),
            "{sub}: raw escapes: {all:?}"
        );
    }
}
