//! The dispatcher binary end to end: it runs a sibling binary found beside its real path,
//! with arguments, stdio and exit code passed through.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a failed unwrap is a failed test
#![cfg(unix)]

use std::os::unix::fs::{PermissionsExt, symlink};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// A folder laid out like krew's store: the dispatcher copied in, plus fake siblings.
struct Store {
    _tmp: tempfile::TempDir,
    dir: PathBuf,
    bin: PathBuf,
}

fn store() -> Store {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("store/todo/v0.1.0");
    let bin = tmp.path().join("bin");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::create_dir_all(&bin).unwrap();
    std::fs::copy(env!("CARGO_BIN_EXE_kubectl-todo"), dir.join("kubectl-todo")).unwrap();
    symlink(dir.join("kubectl-todo"), bin.join("kubectl-todo")).unwrap();
    Store {
        _tmp: tmp,
        dir,
        bin,
    }
}

fn write_script(path: &Path, body: &str) {
    std::fs::write(path, format!("#!/bin/sh\n{body}\n")).unwrap();
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).unwrap();
}

/// Run the dispatcher through krew's symlink with an empty PATH, so only siblings count.
fn run(store: &Store, args: &[&str]) -> Output {
    let mut cmd = Command::new(store.bin.join("kubectl-todo"));
    output(cmd.args(args).env("PATH", ""))
}

/// Run, retrying "Text file busy": a test thread that forks while another test still has
/// a just-written executable open for writing makes exec fail for a moment.
fn output(cmd: &mut Command) -> Output {
    for _ in 0..100 {
        match cmd.output() {
            Err(e) if e.kind() == std::io::ErrorKind::ExecutableFileBusy => {
                std::thread::sleep(std::time::Duration::from_millis(20));
            }
            other => return other.unwrap(),
        }
    }
    panic!("executable stayed busy")
}

#[test]
fn dispatch_runs_sibling_with_arguments_and_exit_code() {
    let s = store();
    write_script(
        &s.dir.join("kubectl-todo-verify"),
        r#"for a in "$@"; do printf '[%s]\n' "$a"; done; echo oops >&2; exit 7"#,
    );
    let out = run(&s, &["verify", "-n", "my ns", "--", "--help", ""]);
    assert_eq!(out.status.code(), Some(7));
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "[-n]\n[my ns]\n[--]\n[--help]\n[]\n"
    );
    assert_eq!(String::from_utf8_lossy(&out.stderr), "oops\n");
}

#[test]
fn dispatch_falls_back_to_path() {
    let s = store();
    let other = s.bin.parent().unwrap().join("elsewhere");
    std::fs::create_dir_all(&other).unwrap();
    write_script(&other.join("kubectl-todo-scale"), "echo from-path; exit 0");
    let out = output(
        Command::new(s.bin.join("kubectl-todo"))
            .args(["scale", "backend", "3"])
            .env("PATH", &other),
    );
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(String::from_utf8_lossy(&out.stdout), "from-path\n");
}

#[test]
fn dispatch_missing_sibling_is_usage_error() {
    let s = store();
    let out = run(&s, &["scale", "backend", "3"]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("kubectl-todo-scale"), "{stderr}");
    assert!(stderr.contains("hint:"), "{stderr}");
}

#[test]
fn dispatch_unknown_subcommand_exits_2() {
    let s = store();
    let out = run(&s, &["deploy"]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("unknown subcommand \"deploy\""), "{stderr}");
    assert!(stderr.contains("verify, scale, preflight"), "{stderr}");
}

#[test]
fn help_lists_subcommands() {
    let s = store();
    let out = run(&s, &["--help"]);
    assert_eq!(out.status.code(), Some(0));
    let stdout = String::from_utf8_lossy(&out.stdout);
    for needle in ["verify", "scale", "helm todo-secrets", "completion"] {
        assert!(stdout.contains(needle), "{needle} missing in:\n{stdout}");
    }
}

#[test]
fn version_prints_package_version() {
    let s = store();
    let out = run(&s, &["--version"]);
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        format!("kubectl-todo {}\n", env!("CARGO_PKG_VERSION"))
    );
}

#[test]
fn completion_generates_scripts_for_each_shell() {
    let s = store();
    for shell in ["bash", "zsh", "fish"] {
        let out = run(&s, &["completion", shell]);
        assert_eq!(out.status.code(), Some(0), "{shell}");
        let script = String::from_utf8_lossy(&out.stdout);
        assert!(
            script.contains("kubectl-todo") && script.contains("__complete"),
            "{shell}"
        );
    }
    assert_eq!(run(&s, &["completion", "tcsh"]).status.code(), Some(2));
    assert_eq!(run(&s, &["completion", "--help"]).status.code(), Some(0));
}

#[test]
fn connection_flags_before_the_subcommand_reach_it() {
    let s = store();
    write_script(&s.dir.join("kubectl-todo-verify"), r#"echo "args: $*""#);
    let out = run(&s, &["-n", "todo", "verify", "-o", "json"]);
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "args: -n todo -o json\n"
    );
}

#[test]
fn complete_is_answered_here_or_by_the_sibling() {
    let s = store();
    write_script(
        &s.dir.join("kubectl-todo-verify"),
        r#"echo "sibling: $*"; echo ":4""#,
    );
    let here = run(&s, &["__complete", ""]);
    let text = String::from_utf8_lossy(&here.stdout);
    assert_eq!(
        text,
        "verify\tCheck that the todo-chatbot release is healthy and say why when it is not\nscale\tScale the frontend or backend and wait until the rollout has settled\npreflight\tCheck before helm install what would fail after it (values, images, secrets, capacity, RBAC)\ncompletion\tPrint a shell completion script (bash, zsh or fish)\n:4\n"
    );
    let there = run(&s, &["__complete", "verify", "-o", ""]);
    assert_eq!(
        String::from_utf8_lossy(&there.stdout),
        "sibling: __complete -o \n:4\n"
    );
}

/// The bash script, sourced in a real bash, completes the subcommands once each.
#[test]
fn bash_completion_script_completes_in_bash() {
    let s = store();
    if Command::new("bash").arg("-c").arg("true").output().is_err() {
        return;
    }
    let path = s.bin.display().to_string();
    let body = format!(
        r#"export PATH={path}:/usr/bin:/bin
source <(kubectl-todo completion bash)
COMP_WORDS=(kubectl-todo sc); COMP_CWORD=1; _kubectl_todo; echo "1:${{COMPREPLY[*]}}"
COMP_WORDS=(kubectl-todo ""); COMP_CWORD=1; _kubectl_todo; echo "2:${{COMPREPLY[*]}}"
COMP_WORDS=(kubectl-todo completion ""); COMP_CWORD=2; _kubectl_todo; echo "3:${{COMPREPLY[*]}}""#
    );
    let out = output(Command::new("bash").arg("-c").arg(body));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("1:scale\n"), "{text}");
    assert!(
        text.contains("2:verify scale preflight completion\n"),
        "{text}"
    );
    assert!(text.contains("3:bash zsh fish\n"), "{text}");
}

/// Through real kubectl (1.26+): `kubectl todo <TAB>` runs kubectl_complete-todo.
#[test]
fn kubectl_completes_the_plugin_through_kubectl_complete_todo() {
    let s = store();
    let shim = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/completion/kubectl_complete-todo"
    );
    std::fs::copy(shim, s.bin.join("kubectl_complete-todo")).unwrap();
    let Ok(kubectl) = which_kubectl() else { return };
    let path = format!("{}:/usr/bin:/bin", s.bin.display());
    let out = output(
        Command::new(kubectl)
            .args(["__complete", "todo", ""])
            .env("PATH", &path)
            .env("KUBECONFIG", "/nonexistent"),
    );
    let text = String::from_utf8_lossy(&out.stdout);
    let verify_lines = text.lines().filter(|l| l.starts_with("verify\t")).count();
    assert_eq!(verify_lines, 1, "{text}");
    assert!(text.lines().any(|l| l.starts_with("scale\t")), "{text}");
    assert!(text.trim_end().ends_with(":4"), "{text}");
}

fn which_kubectl() -> Result<PathBuf, ()> {
    std::env::var_os("PATH")
        .into_iter()
        .flat_map(|p| std::env::split_paths(&p).collect::<Vec<_>>())
        .map(|d| d.join("kubectl"))
        .find(|p| p.is_file())
        .ok_or(())
}

/// `kubectl todo completion bash | head`: a closed pipe ends the write quietly (exit 141),
/// never with a panic, whether the reader is gone before the write (the sleep) or races it.
#[test]
fn completion_piped_into_head_never_panics() {
    let s = store();
    let dispatcher = s.bin.join("kubectl-todo");
    for shell in ["bash", "zsh", "fish"] {
        for pipeline in [
            format!(
                "(sleep 0.1; '{}' completion {shell}; echo \"exit $?\" >&2) | true",
                dispatcher.display()
            ),
            format!(
                "'{}' completion {shell} | head -c 1 >/dev/null",
                dispatcher.display()
            ),
        ] {
            let out = output(Command::new("sh").args(["-c", &pipeline]));
            let stderr = String::from_utf8_lossy(&out.stderr);
            assert!(!stderr.contains("panicked"), "{shell}: {stderr}");
            assert!(
                stderr.is_empty() || stderr == "exit 141\n",
                "{shell}: {pipeline}: {stderr}"
            );
        }
    }
}
