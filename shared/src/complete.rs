//! Shell completion that speaks cobra's `__complete` protocol, which kubectl (1.26+) uses for
//! plugins (`kubectl_complete-todo ARGS` → `kubectl-todo __complete ARGS`) and Helm uses for
//! a plugin's `plugin.complete`: one candidate per line (`value<TAB>description`), then a
//! line `:<directive>`, where the directive bits tell the shell not to fall back to file
//! names ([`NO_FILE_COMP`]) and so on.
//!
//! [`complete`] walks a clap [`Command`] over the words typed so far and offers subcommands,
//! flags, the values clap knows (`-o` formats, shells) and dynamic values from a
//! [`ValueSource`] (namespaces and contexts from the cluster, components, check IDs). Pure
//! apart from the source; the scripts for bash, zsh and fish that call `__complete` are in
//! [`script`].

use clap::Command;

use walk::{Walk, find_long, walk};

mod walk;

/// Directive: an error happened; the shell shows nothing.
pub const ERROR: u32 = 1;
/// Directive: no space after the completion (a value continues, e.g. `--only backend,`).
pub const NO_SPACE: u32 = 2;
/// Directive: do not fall back to file names.
pub const NO_FILE_COMP: u32 = 4;
/// Directive: keep the order given.
pub const KEEP_ORDER: u32 = 32;

/// The hidden argument that asks a binary for completions.
pub const COMPLETE_ARG: &str = "__complete";

/// One candidate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Candidate {
    /// What the shell inserts.
    pub value: String,
    /// Shown beside it by shells that can.
    pub description: Option<String>,
}

impl Candidate {
    /// A candidate with a description.
    pub fn new(value: impl Into<String>, description: impl Into<String>) -> Self {
        let description = description.into();
        Candidate {
            value: value.into(),
            description: (!description.is_empty()).then_some(description),
        }
    }

    /// A candidate without a description.
    pub fn bare(value: impl Into<String>) -> Self {
        Candidate {
            value: value.into(),
            description: None,
        }
    }
}

/// The answer to one `__complete` call.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Completions {
    /// The candidates, filtered by the word being completed.
    pub candidates: Vec<Candidate>,
    /// The directive bits.
    pub directive: u32,
}

impl Completions {
    /// cobra's output format: `value\tdescription` lines, then `:directive`.
    pub fn render(&self) -> String {
        let mut out = String::new();
        for c in &self.candidates {
            let value = crate::redact::printable(&c.value);
            match &c.description {
                Some(d) => {
                    out.push_str(&value);
                    out.push('\t');
                    out.push_str(&crate::redact::printable(d));
                }
                None => out.push_str(&value),
            }
            out.push('\n');
        }
        out.push_str(&format!(":{}\n", self.directive));
        out
    }
}

/// What has been typed before the word being completed: the flags with their values.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Typed {
    /// The subcommand path (`["init"]` for `helm todo-secrets init`).
    pub path: Vec<String>,
    /// `(flag id, value)` for every flag given a value.
    pub flags: Vec<(String, String)>,
    /// Positional values, in order.
    pub positionals: Vec<String>,
}

impl Typed {
    /// The value given to the flag whose clap id is `id`, if any (last wins).
    pub fn flag(&self, id: &str) -> Option<&str> {
        self.flags
            .iter()
            .rev()
            .find(|(k, _)| k == id)
            .map(|(_, v)| v.as_str())
    }
}

/// Dynamic values for arguments clap cannot list itself.
pub trait ValueSource {
    /// Values for the argument `arg_id` (a flag's or positional's clap id), given what was
    /// typed, for the word `current` (already without a `--flag=` prefix). `None` means this
    /// source knows nothing about the argument.
    fn values(&self, arg_id: &str, typed: &Typed, current: &str) -> Option<Vec<Candidate>>;
}

/// A [`ValueSource`] that knows nothing (only clap's own values are offered).
#[derive(Debug, Default, Clone, Copy)]
pub struct NoValues;

impl ValueSource for NoValues {
    fn values(&self, _arg_id: &str, _typed: &Typed, _current: &str) -> Option<Vec<Candidate>> {
        None
    }
}

/// Complete the last word of `words` (the words after the program name; the last one is the
/// word under the cursor, possibly empty) against `cmd`: walk the words before it (`walk`),
/// then offer what fits where the walk ended.
pub fn complete(cmd: &Command, words: &[String], source: &dyn ValueSource) -> Completions {
    let mut cmd = cmd.clone();
    cmd.build();
    let (current, before) = match words.split_last() {
        Some((last, rest)) => (last.as_str(), rest),
        None => ("", &[][..]),
    };
    let w = walk(&cmd, before);
    if let Some(arg) = w.pending {
        return values_for(arg, &w.typed, current, "", source);
    }
    if !w.only_positionals
        && let Some(long) = current.strip_prefix("--")
        && let Some((name, value)) = long.split_once('=')
    {
        return match find_long(w.at, name) {
            Some(arg) => values_for(arg, &w.typed, value, &format!("--{name}="), source),
            None => Completions {
                candidates: Vec::new(),
                directive: NO_FILE_COMP,
            },
        };
    }
    if !w.only_positionals && current.starts_with('-') {
        return flags_of(w.at, current);
    }
    subcommands_and_positional(&w, current, source)
}

/// The subcommands (before any positional) and the values of the next positional.
fn subcommands_and_positional(
    w: &Walk<'_>,
    current: &str,
    source: &dyn ValueSource,
) -> Completions {
    let mut out = Completions {
        candidates: Vec::new(),
        directive: NO_FILE_COMP,
    };
    if w.typed.positionals.is_empty() {
        out.candidates.extend(
            w.at.get_subcommands()
                // clap's generated `help` subcommand is left out: `--help` is offered instead.
                .filter(|s| !s.is_hide_set() && s.get_name() != "help")
                .filter(|s| s.get_name().starts_with(current))
                .map(|s| {
                    Candidate::new(
                        s.get_name(),
                        s.get_about().map(|a| a.to_string()).unwrap_or_default(),
                    )
                }),
        );
    }
    let positional =
        w.at.get_positionals()
            .filter(|a| !a.is_hide_set())
            .nth(w.typed.positionals.len());
    if let Some(arg) = positional {
        let values = values_for(arg, &w.typed, current, "", source);
        out.candidates.extend(values.candidates);
        out.directive = values.directive;
    }
    out
}

fn flags_of(cmd: &Command, current: &str) -> Completions {
    let mut candidates = Vec::new();
    for a in cmd.get_arguments().filter(|a| !a.is_hide_set()) {
        let help = a.get_help().map(|h| h.to_string()).unwrap_or_default();
        let help = help.lines().next().unwrap_or("").to_owned();
        if let Some(l) = a.get_long() {
            let flag = format!("--{l}");
            if flag.starts_with(current) {
                candidates.push(Candidate::new(flag, help.clone()));
            }
        }
        if let Some(s) = a.get_short() {
            let flag = format!("-{s}");
            if current.len() <= 2 && flag.starts_with(current) && !current.starts_with("--") {
                candidates.push(Candidate::new(flag, help));
            }
        }
    }
    Completions {
        candidates,
        directive: NO_FILE_COMP,
    }
}

/// Values for one argument: clap's possible values, else the source's, else file names
/// when the argument names a path, else nothing.
fn values_for(
    arg: &clap::Arg,
    typed: &Typed,
    current: &str,
    prefix: &str,
    source: &dyn ValueSource,
) -> Completions {
    let id = arg.get_id().as_str();
    // A comma-separated list completes its last item, keeping the ones before.
    let delimited = arg.get_value_delimiter().is_some();
    let (done, word) = match current.rsplit_once(',') {
        Some((d, w)) if delimited => (format!("{d},"), w),
        _ => (String::new(), current),
    };
    let lead = format!("{prefix}{done}");
    let possible: Vec<Candidate> = arg
        .get_possible_values()
        .into_iter()
        .filter(|p| !p.is_hide_set())
        .map(|p| {
            Candidate::new(
                p.get_name(),
                p.get_help().map(|h| h.to_string()).unwrap_or_default(),
            )
        })
        .collect();
    let (list, file) = if !possible.is_empty() {
        (Some(possible), false)
    } else if let Some(v) = source.values(id, typed, word) {
        (Some(v), false)
    } else {
        let path = matches!(
            arg.get_value_hint(),
            clap::ValueHint::FilePath
                | clap::ValueHint::DirPath
                | clap::ValueHint::AnyPath
                | clap::ValueHint::Unknown
        ) && is_pathish(arg);
        (None, path)
    };
    let candidates = list
        .unwrap_or_default()
        .into_iter()
        .filter(|c| c.value.starts_with(word))
        .map(|c| Candidate {
            value: format!("{lead}{}", c.value),
            description: c.description,
        })
        .collect();
    Completions {
        candidates,
        directive: if file {
            0
        } else {
            NO_FILE_COMP | if delimited { NO_SPACE } else { 0 }
        },
    }
}

/// Whether an argument names a file or directory (by its value name, as our flags do:
/// `FILE`, `DIR`, `PATH`).
fn is_pathish(arg: &clap::Arg) -> bool {
    arg.get_value_names()
        .into_iter()
        .flatten()
        .any(|n| matches!(n.as_str(), "FILE" | "DIR" | "PATH" | "CERT"))
}

/// The Levenshtein distance between two words (for "did you mean" suggestions).
pub fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut prev = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let cur = row[j + 1];
            row[j + 1] = (prev + usize::from(ca != *cb)).min(row[j] + 1).min(cur + 1);
            prev = cur;
        }
    }
    row[b.len()]
}

/// The candidate within two edits of `typed` (the closest), for "did you mean".
pub fn closest<'a>(typed: &str, names: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    names
        .into_iter()
        .map(|n| (edit_distance(typed, n), n))
        .filter(|(d, _)| *d <= 2)
        .min_by_key(|(d, _)| *d)
        .map(|(_, n)| n)
}

/// Dynamic values that need the cluster or the kubeconfig: namespaces (listed from the
/// cluster within [`KUBE_BUDGET`], as kubectl's completion does) and contexts. Uses the
/// `--kubeconfig`/`--context` already typed.
#[derive(Debug, Default, Clone, Copy)]
pub struct KubeValues;

/// How long completion may wait for the cluster: a slow cluster gives no candidates rather
/// than a stuck shell.
pub const KUBE_BUDGET: std::time::Duration = std::time::Duration::from_millis(1500);

impl KubeValues {
    fn args(typed: &Typed) -> crate::cluster::KubeArgs {
        crate::cluster::KubeArgs {
            kubeconfig: typed.flag("kubeconfig").map(Into::into),
            context: typed
                .flag("context")
                .or_else(|| typed.flag("kube_context"))
                .map(str::to_owned),
            namespace: None,
            request_timeout: Some(KUBE_BUDGET),
        }
    }

    /// The kubeconfig's context names.
    pub fn contexts(typed: &Typed) -> Vec<Candidate> {
        let args = Self::args(typed);
        let kc = match &args.kubeconfig {
            Some(p) => kube::config::Kubeconfig::read_from(p),
            None => kube::config::Kubeconfig::read(),
        };
        kc.map(|k| {
            k.contexts
                .into_iter()
                .map(|c| Candidate::bare(c.name))
                .collect()
        })
        .unwrap_or_default()
    }

    /// The cluster's namespaces (empty when the cluster does not answer in time).
    pub fn namespaces(typed: &Typed) -> Vec<Candidate> {
        let args = Self::args(typed);
        let run = async move {
            let cluster = crate::cluster::Cluster::connect(&args).await.ok()?;
            let api: kube::Api<k8s_openapi::api::core::v1::Namespace> =
                kube::Api::all(cluster.client.clone());
            let list = api.list_metadata(&Default::default()).await.ok()?;
            Some(
                list.items
                    .into_iter()
                    .filter_map(|n| n.metadata.name)
                    .map(Candidate::bare)
                    .collect::<Vec<_>>(),
            )
        };
        let Ok(rt) = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
        else {
            return Vec::new();
        };
        rt.block_on(async { tokio::time::timeout(KUBE_BUDGET, run).await.ok().flatten() })
            .unwrap_or_default()
    }
}

impl ValueSource for KubeValues {
    fn values(&self, arg_id: &str, typed: &Typed, _current: &str) -> Option<Vec<Candidate>> {
        match arg_id {
            "namespace" | "controller_namespace" => Some(Self::namespaces(typed)),
            "context" | "kube_context" => Some(Self::contexts(typed)),
            _ => None,
        }
    }
}

/// Fixed candidates for some arguments (by clap id), then [`KubeValues`] for the rest: check
/// IDs for verify's `--only`/`--skip`, components for scale's target.
#[derive(Debug, Default, Clone)]
pub struct Fixed(pub Vec<(&'static str, Vec<Candidate>)>);

impl ValueSource for Fixed {
    fn values(&self, arg_id: &str, typed: &Typed, current: &str) -> Option<Vec<Candidate>> {
        match self.0.iter().find(|(id, _)| *id == arg_id) {
            Some((_, values)) => Some(values.clone()),
            None => KubeValues.values(arg_id, typed, current),
        }
    }
}

/// Completion scripts for bash, zsh and fish that ask `BINARY __complete WORDS...` and show
/// the candidates, honouring the directive.
pub mod script {
    /// The bash script for `binary` (needs bash-completion for `_init_completion`-less use?
    /// no: it uses only `COMP_WORDS`/`COMP_CWORD` and `compgen`).
    pub fn bash(binary: &str) -> String {
        let func = format!("_{}", binary.replace('-', "_"));
        format!(
            r#"# bash completion for {binary}; load with: source <({binary} completion bash)
{func}() {{
    local cur="${{COMP_WORDS[COMP_CWORD]}}" out directive line
    out=$("{binary}" __complete "${{COMP_WORDS[@]:1:$COMP_CWORD}}" 2>/dev/null) || return
    directive=${{out##*:}}
    COMPREPLY=()
    while IFS= read -r line; do
        case "$line" in :*) continue ;; esac
        COMPREPLY+=("${{line%%$'\t'*}}")
    done <<<"$out"
    if (( (directive & 2) != 0 )); then compopt -o nospace 2>/dev/null; fi
    if (( ${{#COMPREPLY[@]}} == 0 && (directive & 4) == 0 )); then
        COMPREPLY=($(compgen -f -- "$cur"))
    fi
}}
complete -o default -F {func} {binary}
"#
        )
    }

    /// The zsh script for `binary`.
    pub fn zsh(binary: &str) -> String {
        let func = format!("_{}", binary.replace('-', "_"));
        format!(
            r#"#compdef {binary}
# zsh completion for {binary}; put in a directory of $fpath as _{binary}, or: source <({binary} completion zsh)
{func}() {{
    local -a lines candidates
    local out directive line
    out=$("{binary}" __complete "${{(@)words[2,CURRENT]}}" 2>/dev/null) || return 1
    lines=("${{(@f)out}}")
    directive=${{lines[-1]#:}}
    for line in "${{(@)lines[1,-2]}}"; do
        candidates+=("${{line%%$'\t'*}}:${{${{line#*$'\t'}}//:/\\:}}")
    done
    if (( ${{#candidates}} )); then
        if (( directive & 2 )); then _describe -t values 'values' candidates -S ''; else _describe -t values 'values' candidates; fi
    elif (( (directive & 4) == 0 )); then
        _files
    fi
}}
compdef {func} {binary}
"#
        )
    }

    /// The fish script for `binary`.
    pub fn fish(binary: &str) -> String {
        format!(
            r#"# fish completion for {binary}; load with: {binary} completion fish | source
function __{func}_complete
    set -l words (commandline -opc) (commandline -ct)
    set -e words[1]
    {binary} __complete $words 2>/dev/null | string match -v -r '^:'
end
complete -c {binary} -f -a '(__{func}_complete)'
"#,
            func = binary.replace('-', "_")
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::{Arg, ArgAction};

    fn cmd() -> Command {
        Command::new("t")
            .subcommand(
                Command::new("verify")
                    .about("Check health")
                    .arg(Arg::new("namespace").short('n').long("namespace"))
                    .arg(
                        Arg::new("output")
                            .short('o')
                            .long("output")
                            .value_parser(["table", "json", "yaml"]),
                    )
                    .arg(Arg::new("only").long("only").value_delimiter(','))
                    .arg(Arg::new("strict").long("strict").action(ArgAction::SetTrue))
                    .arg(Arg::new("kubeconfig").long("kubeconfig").value_name("FILE")),
            )
            .subcommand(
                Command::new("scale")
                    .about("Scale")
                    .arg(Arg::new("target"))
                    .arg(Arg::new("n")),
            )
    }

    struct Src;
    impl ValueSource for Src {
        fn values(&self, id: &str, typed: &Typed, _cur: &str) -> Option<Vec<Candidate>> {
            match id {
                "namespace" => Some(vec![
                    Candidate::bare("todo"),
                    Candidate::bare("kube-system"),
                ]),
                "only" => Some(vec![
                    Candidate::bare("backend"),
                    Candidate::bare("backend.pods"),
                ]),
                "target" => Some(vec![
                    Candidate::bare("frontend"),
                    Candidate::bare("backend"),
                ]),
                "n" => Some(vec![Candidate::bare(format!(
                    "{}",
                    typed.positionals.len()
                ))]),
                _ => None,
            }
        }
    }

    fn values(words: &[&str]) -> (Vec<String>, u32) {
        let words: Vec<String> = words.iter().map(|s| s.to_string()).collect();
        let c = complete(&cmd(), &words, &Src);
        (
            c.candidates.into_iter().map(|c| c.value).collect(),
            c.directive,
        )
    }

    #[test]
    fn subcommands_are_offered_once_without_files() {
        assert_eq!(
            values(&[""]),
            (vec!["verify".into(), "scale".into()], NO_FILE_COMP)
        );
        assert_eq!(values(&["sc"]).0, ["scale"]);
    }

    #[test]
    fn flag_values_come_from_clap_or_the_source() {
        assert_eq!(values(&["verify", "-o", ""]).0, ["table", "json", "yaml"]);
        assert_eq!(values(&["verify", "--output=j"]).0, ["--output=json"]);
        assert_eq!(values(&["verify", "-n", "t"]).0, ["todo"]);
        assert_eq!(
            values(&["verify", "--namespace", ""]).0,
            ["todo", "kube-system"]
        );
    }

    #[test]
    fn lists_complete_their_last_item_without_a_space() {
        let (v, d) = values(&["verify", "--only", "backend.pods,back"]);
        assert_eq!(v, ["backend.pods,backend", "backend.pods,backend.pods"]);
        assert_eq!(d & NO_SPACE, NO_SPACE);
    }

    #[test]
    fn flags_are_listed_for_a_dash() {
        let (v, d) = values(&["verify", "--s"]);
        assert_eq!((v, d), (vec!["--strict".into()], NO_FILE_COMP));
        assert!(values(&["verify", "-"]).0.contains(&"-n".to_string()));
    }

    #[test]
    fn files_only_where_a_file_is_asked_for() {
        assert_eq!(values(&["verify", "--kubeconfig", ""]).1, 0);
        assert_eq!(values(&["verify", "--strict", ""]).1, NO_FILE_COMP);
    }

    #[test]
    fn positionals_follow_their_order() {
        assert_eq!(values(&["scale", ""]).0, ["frontend", "backend"]);
        assert_eq!(values(&["scale", "backend", ""]).0, ["1"]);
    }

    #[test]
    fn edit_distance_counts_edits() {
        assert_eq!(edit_distance("backnd", "backend"), 1);
        assert_eq!(edit_distance("", "abc"), 3);
        assert_eq!(closest("backnd", ["frontend", "backend"]), Some("backend"));
        assert_eq!(closest("zzz", ["frontend", "backend"]), None);
    }

    #[test]
    fn render_is_cobras_format() {
        let c = Completions {
            candidates: vec![
                Candidate::new("verify", "Check"),
                Candidate::bare("x\x1b[2J"),
            ],
            directive: NO_FILE_COMP,
        };
        assert_eq!(c.render(), "verify\tCheck\nx[2J\n:4\n");
    }

    fn words(ws: &[&str]) -> Vec<String> {
        ws.iter().map(|w| w.to_string()).collect()
    }

    #[test]
    fn the_walk_records_flags_in_every_spelling() {
        let mut c = cmd();
        c.build();
        let w = walk(
            &c,
            &words(&[
                "verify",
                "-ntodo",
                "--output=json",
                "--strict",
                "-o",
                "yaml",
                "--bogus",
            ]),
        );
        assert_eq!(w.at.get_name(), "verify");
        assert_eq!(w.typed.path, vec!["verify".to_string()]);
        assert_eq!(w.typed.flag("namespace"), Some("todo"));
        assert_eq!(w.typed.flag("output"), Some("yaml"));
        assert_eq!(w.typed.flag("strict"), Some(""));
        assert!(w.pending.is_none() && !w.only_positionals);
        let w = walk(&c, &words(&["verify", "--namespace"]));
        assert_eq!(w.pending.map(|a| a.get_id().as_str()), Some("namespace"));
        let w = walk(&c, &words(&["verify", "-n"]));
        assert_eq!(w.pending.map(|a| a.get_id().as_str()), Some("namespace"));
    }

    #[test]
    fn the_walk_takes_positionals_and_stops_descending_after_one() {
        let mut c = cmd();
        c.build();
        let w = walk(&c, &words(&["scale", "backend", "verify"]));
        assert_eq!(w.at.get_name(), "scale");
        assert_eq!(
            w.typed.positionals,
            vec!["backend".to_string(), "verify".to_string()]
        );
        let w = walk(&c, &words(&["verify", "--", "--strict"]));
        assert!(w.only_positionals);
        assert_eq!(w.typed.positionals, vec!["--strict".to_string()]);
        assert_eq!(w.typed.flag("strict"), None);
    }
}
