//! Unit tests of the dispatcher: argument parsing, global flags, suggestions, binary lookup.

use super::*;

fn args(list: &[&str]) -> Vec<OsString> {
    list.iter().map(OsString::from).collect()
}

#[test]
fn parse_passes_arguments_after_subcommand_unchanged() {
    let got = parse(&args(&["verify", "-n", "todo", "--help", "--", "x"])).unwrap();
    assert_eq!(
        got,
        Invocation::Run {
            subcommand: &SUBCOMMANDS[0],
            args: args(&["-n", "todo", "--help", "--", "x"])
        }
    );
}

#[cfg(unix)]
#[test]
fn parse_keeps_non_utf8_arguments_byte_for_byte() {
    use std::os::unix::ffi::OsStringExt;
    let raw = OsString::from_vec(vec![0x66, 0xff, 0x6f]);
    let got = parse(&[OsString::from("scale"), raw.clone()]).unwrap();
    assert_eq!(
        got,
        Invocation::Run {
            subcommand: &SUBCOMMANDS[1],
            args: vec![raw]
        }
    );
}

#[test]
fn parse_without_arguments_is_help() {
    assert_eq!(parse(&[]).unwrap(), Invocation::Help);
    assert_eq!(parse(&args(&["--help"])).unwrap(), Invocation::Help);
    assert_eq!(parse(&args(&["-h"])).unwrap(), Invocation::Help);
}

#[test]
fn parse_help_subcommand_runs_its_help() {
    let got = parse(&args(&["help", "scale"])).unwrap();
    assert_eq!(
        got,
        Invocation::Run {
            subcommand: &SUBCOMMANDS[1],
            args: args(&["--help"])
        }
    );
}

#[test]
fn parse_version_flags() {
    for v in ["--version", "-V", "version"] {
        assert_eq!(parse(&args(&[v])).unwrap(), Invocation::Version);
    }
}

#[test]
fn parse_completion_shells() {
    assert_eq!(
        parse(&args(&["completion", "zsh"])).unwrap(),
        Invocation::Completion(Shell::Zsh)
    );
    assert!(matches!(
        parse(&args(&["completions", "fish"])),
        Err(DispatchError::UnknownSubcommand { .. })
    ));
    assert!(matches!(
        parse(&args(&["completion", "tcsh"])),
        Err(DispatchError::CompletionShell { got }) if got == "tcsh"
    ));
    assert!(matches!(
        parse(&args(&["completion"])),
        Err(DispatchError::CompletionShell { .. })
    ));
}

#[test]
fn parse_rejects_unknown_subcommand_with_usage_exit_code() {
    let err = parse(&args(&["deploy"])).unwrap_err();
    assert!(matches!(&err, DispatchError::UnknownSubcommand { name } if name == "deploy"));
    assert!(err.hint().unwrap().contains("verify, scale, preflight"));
    assert_eq!(err.exit_code(), crate::error::EXIT_USAGE);
}

#[test]
fn connection_flags_before_the_subcommand_are_passed_on() {
    assert_eq!(
        parse(&args(&[
            "-n",
            "todo",
            "--context=dev",
            "verify",
            "-o",
            "json"
        ]))
        .unwrap(),
        Invocation::Run {
            subcommand: &SUBCOMMANDS[0],
            args: args(&["-n", "todo", "--context=dev", "-o", "json"])
        }
    );
    assert_eq!(
        parse(&args(&["-ntodo", "scale", "backend", "2"])).unwrap(),
        Invocation::Run {
            subcommand: &SUBCOMMANDS[1],
            args: args(&["-ntodo", "backend", "2"])
        }
    );
}

#[test]
fn other_flags_before_the_subcommand_are_refused_with_a_hint() {
    let err = parse(&args(&["--token", "x", "verify"])).unwrap_err();
    assert!(matches!(err, DispatchError::UnknownFlag { .. }));
    assert!(err.hint().unwrap().contains("--namespace"));
    assert!(matches!(
        parse(&args(&["-n"])),
        Err(DispatchError::MissingValue { .. })
    ));
    assert!(matches!(
        parse(&args(&["-n", "todo"])),
        Err(DispatchError::NoSubcommand)
    ));
}

#[test]
fn typos_get_a_suggestion() {
    let err = parse(&args(&["verfy"])).unwrap_err();
    assert!(
        err.hint()
            .unwrap()
            .contains("did you mean `kubectl todo verify`")
    );
    assert!(err.hint().unwrap().contains("completion"));
    assert_eq!(suggest("deploy"), None);
}

#[test]
fn completion_help_is_help() {
    assert_eq!(
        parse(&args(&["completion", "--help"])).unwrap(),
        Invocation::CompletionHelp
    );
    assert_eq!(
        parse(&args(&["help", "completion"])).unwrap(),
        Invocation::CompletionHelp
    );
}

#[test]
fn complete_is_delegated_once_a_subcommand_is_typed() {
    assert_eq!(
        parse(&args(&["__complete", "-n", "todo", "verify", "-o", ""])).unwrap(),
        Invocation::Run {
            subcommand: &SUBCOMMANDS[0],
            args: args(&["__complete", "-n", "todo", "-o", ""])
        }
    );
    assert_eq!(
        parse(&args(&["__complete", "ver"])).unwrap(),
        Invocation::Complete(vec!["ver".into()])
    );
}

#[test]
fn dispatcher_completion_lists_each_subcommand_once() {
    let words = vec![String::new()];
    let c = crate::complete::complete(&completion_command(), &words, &crate::complete::NoValues);
    let names: Vec<_> = c.candidates.iter().map(|c| c.value.as_str()).collect();
    assert_eq!(names, ["verify", "scale", "preflight", "completion"]);
    assert_eq!(c.directive, crate::complete::NO_FILE_COMP);
}

#[cfg(unix)]
#[test]
fn kubectl_lists_plugins_on_path_itself_so_they_are_not_repeated() {
    let tmp = tempfile::tempdir().unwrap();
    write_exe(&tmp.path().join("kubectl-todo-verify"));
    let path = std::env::join_paths([tmp.path()]).unwrap();
    let words = vec![String::new()];
    let names = |via| -> Vec<String> {
        complete_here(&words, via, Some(&path), &crate::complete::NoValues)
            .candidates
            .into_iter()
            .map(|c| c.value)
            .collect()
    };
    assert_eq!(names(true), ["scale", "preflight", "completion"]);
    assert_eq!(names(false), ["verify", "scale", "preflight", "completion"]);
}

#[test]
fn help_lists_every_subcommand_and_helm_plugin() {
    let help = help_text("0.1.0");
    for s in SUBCOMMANDS {
        assert!(
            help.lines()
                .any(|l| l.trim_start().starts_with(s.name) && l.contains(s.about))
        );
    }
    assert!(help.contains("helm todo-secrets"));
    assert!(help.contains("completion"));
}

#[cfg(unix)]
fn write_exe(path: &Path) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::write(path, "#!/bin/sh\n").unwrap();
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).unwrap();
}

#[cfg(unix)]
#[test]
fn real_dir_follows_krew_symlink_into_store() {
    let tmp = tempfile::tempdir().unwrap();
    let store = tmp.path().join("store/todo/v0.1.0");
    let bin = tmp.path().join("bin");
    std::fs::create_dir_all(&store).unwrap();
    std::fs::create_dir_all(&bin).unwrap();
    write_exe(&store.join("kubectl-todo"));
    std::os::unix::fs::symlink(store.join("kubectl-todo"), bin.join("kubectl-todo")).unwrap();
    let dir = real_dir(&bin.join("kubectl-todo")).unwrap();
    assert_eq!(dir, std::fs::canonicalize(&store).unwrap());
}

#[cfg(unix)]
#[test]
fn locate_prefers_sibling_over_path() {
    let tmp = tempfile::tempdir().unwrap();
    let own = tmp.path().join("own");
    let other = tmp.path().join("other");
    std::fs::create_dir_all(&own).unwrap();
    std::fs::create_dir_all(&other).unwrap();
    write_exe(&own.join("kubectl-todo-verify"));
    write_exe(&other.join("kubectl-todo-verify"));
    let path = std::env::join_paths([&other]).unwrap();
    let got = locate(&SUBCOMMANDS[0], Some(&own), Some(&path)).unwrap();
    assert_eq!(got, own.join("kubectl-todo-verify"));
}

#[cfg(unix)]
#[test]
fn locate_falls_back_to_path() {
    let tmp = tempfile::tempdir().unwrap();
    let own = tmp.path().join("own");
    let other = tmp.path().join("other");
    std::fs::create_dir_all(&own).unwrap();
    std::fs::create_dir_all(&other).unwrap();
    write_exe(&other.join("kubectl-todo-scale"));
    let path = std::env::join_paths([Path::new("/nonexistent"), &other]).unwrap();
    let got = locate(&SUBCOMMANDS[1], Some(&own), Some(&path)).unwrap();
    assert_eq!(got, other.join("kubectl-todo-scale"));
}

#[cfg(unix)]
#[test]
fn locate_skips_files_that_are_not_executable() {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::write(tmp.path().join("kubectl-todo-verify"), "").unwrap();
    let err = locate(&SUBCOMMANDS[0], Some(tmp.path()), None).unwrap_err();
    assert!(matches!(err, DispatchError::MissingBinary { .. }));
    assert!(err.to_string().contains("kubectl-todo-verify"));
}
