//! Shell completion against the sandbox, through the protocol bash and zsh use: kubectl's
//! `__complete` runs `kubectl_complete-todo`, which asks the binaries; and the bash script
//! of `kubectl todo completion bash` driven in bash. Components, `-o` values, check IDs,
//! namespaces and contexts come from the binaries and the cluster, never file names.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a failed unwrap is a failed test

use std::time::Duration;

use todo_e2e::harness::{TestEnv, run};

const NS: &str = "todo";

/// The candidates (first column) and the directive (`:N`) `kubectl __complete todo ARGS`
/// prints.
fn complete(env: &TestEnv, args: &[&str]) -> (Vec<String>, String) {
    // As installed: the kubectl_complete-todo* shims on PATH beside the plugins.
    let shims = todo_e2e::harness::repo_root().join("plugins/kubectl-todo/completion");
    let path = format!("{}:{}", shims.display(), env.path_var());
    let r = run(env
        .kubectl()
        .args(["__complete", "todo"])
        .args(args)
        .env("PATH", path))
    .expect_code(0);
    let mut lines: Vec<&str> = r.stdout.lines().collect();
    let directive = lines.pop().unwrap_or_default().to_owned();
    let words = lines
        .iter()
        .map(|l| l.split('\t').next().unwrap_or_default().to_owned())
        .collect();
    (words, directive)
}

/// `:4` is cobra's ShellCompDirectiveNoFileComp: no file names offered.
fn no_files(directive: &str) -> bool {
    directive
        .trim_start_matches(':')
        .parse::<u32>()
        .is_ok_and(|d| d & 4 != 0)
}

#[test]
fn kubectl_completes_components_formats_checks_namespaces_and_contexts() {
    let env = TestEnv::start("");
    env.install_chart("todo", NS, "", Duration::from_secs(60))
        .expect_code(0);
    let cases: [(&[&str], &[&str]); 6] = [
        (&["scale", ""], &["backend", "frontend", "all"]),
        (&["scale", "-o", ""], &["table", "json", "yaml"]),
        (&["verify", "-o", ""], &["table", "json", "yaml", "junit"]),
        (&["verify", "--only", "backend."], &["backend.pods"]),
        (&["verify", "-n", ""], &["todo", "default"]),
        (&["--namespace", NS, "verify", "--context", ""], &[]),
    ];
    for (args, want) in cases {
        let (words, directive) = complete(&env, args);
        assert!(no_files(&directive), "{args:?}: {words:?} {directive}");
        for w in want {
            assert!(
                words.iter().any(|x| x == w),
                "{args:?}: {w} not in {words:?}"
            );
        }
        let mut unique = words.clone();
        unique.sort();
        unique.dedup();
        assert_eq!(unique.len(), words.len(), "{args:?}: twice in {words:?}");
    }
    if let Some(context) = env.context() {
        let (words, _) = complete(&env, &["verify", "--context", ""]);
        assert!(words.contains(&context), "{context} not in {words:?}");
    }
}

#[test]
fn the_bash_script_completes_against_the_cluster() {
    let env = TestEnv::start("");
    env.install_chart("todo", NS, "", Duration::from_secs(60))
        .expect_code(0);
    let body = r#"source <(kubectl-todo completion bash)
COMP_WORDS=(kubectl-todo scale ""); COMP_CWORD=2; _kubectl_todo; echo "1:${COMPREPLY[*]}"
COMP_WORDS=(kubectl-todo verify -n t); COMP_CWORD=3; _kubectl_todo; echo "2:${COMPREPLY[*]}"
COMP_WORDS=(kubectl-todo verify -o ""); COMP_CWORD=3; _kubectl_todo; echo "3:${COMPREPLY[*]}""#;
    let r = run(env.command("bash").args(["-c", body])).expect_code(0);
    let line = |n: &str| {
        r.stdout
            .lines()
            .find_map(|l| l.strip_prefix(&format!("{n}:")))
            .unwrap_or_default()
            .to_owned()
    };
    for w in ["backend", "frontend", "all"] {
        assert!(line("1").split(' ').any(|x| x == w), "{}", r.stdout);
    }
    assert!(line("2").split(' ').any(|x| x == "todo"), "{}", r.stdout);
    assert_eq!(line("3"), "table json yaml junit", "{}", r.stdout);
}

#[test]
fn a_mistyped_scale_target_is_answered_with_did_you_mean() {
    let env = TestEnv::start("");
    env.install_chart("todo", NS, "", Duration::from_secs(60))
        .expect_code(0);
    let r = run(env
        .kubectl()
        .args(["todo", "scale", "-n", NS, "backnd", "2"]))
    .expect_code(2);
    assert!(
        r.stderr
            .contains("did you mean `kubectl todo scale backend N`?"),
        "{}",
        r.stderr
    );
}
