//! kubectl's connection flags, and the same settings from Helm's plugin environment.

use std::path::PathBuf;
use std::time::Duration;

use crate::duration::parse_duration;

/// kubectl's connection flags, shared by the plugins.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct KubeArgs {
    /// Path to the kubeconfig file (default: $KUBECONFIG, then ~/.kube/config).
    #[arg(long, value_name = "FILE", global = true)]
    pub kubeconfig: Option<PathBuf>,
    /// The kubeconfig context to use.
    #[arg(long, value_name = "NAME", global = true)]
    pub context: Option<String>,
    /// The namespace (default: the context's namespace, then `default`).
    #[arg(short = 'n', long, value_name = "NAMESPACE", global = true)]
    pub namespace: Option<String>,
    /// How long to wait for a single API request (e.g. 5s, 1m; 0 means no limit).
    #[arg(long, value_name = "DURATION", value_parser = parse_duration, global = true)]
    pub request_timeout: Option<Duration>,
}

impl KubeArgs {
    /// The connection settings Helm hands a plugin: `HELM_NAMESPACE`, `HELM_KUBECONTEXT`
    /// and `KUBECONFIG` (Helm consumes `-n`, `--kube-context` and `--kubeconfig` itself).
    pub fn from_helm_env() -> Self {
        let var = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
        KubeArgs {
            // Helm passes --kubeconfig as KUBECONFIG, which the loader reads itself.
            kubeconfig: None,
            context: var("HELM_KUBECONTEXT"),
            namespace: var("HELM_NAMESPACE"),
            request_timeout: None,
        }
    }

    /// These flags, with what is unset taken from `fallback`.
    pub fn or(&self, fallback: &KubeArgs) -> KubeArgs {
        KubeArgs {
            kubeconfig: self
                .kubeconfig
                .clone()
                .or_else(|| fallback.kubeconfig.clone()),
            context: self.context.clone().or_else(|| fallback.context.clone()),
            namespace: self
                .namespace
                .clone()
                .or_else(|| fallback.namespace.clone()),
            request_timeout: self.request_timeout.or(fallback.request_timeout),
        }
    }

    /// The flags as a user would type them again (`--kubeconfig F --context C -n NS`), for
    /// hints that must act on the same cluster, user and namespace.
    pub fn as_flags(&self, namespace: Option<&str>) -> String {
        let mut out = self.connection_flags("--context");
        if let Some(ns) = namespace.or(self.namespace.as_deref()) {
            out.push_str(&format!(" -n {}", shell_word(ns)));
        }
        out
    }
}

impl KubeArgs {
    /// `--kubeconfig` and `--kube-context` for a Helm command line (empty or starting with a
    /// space); Helm takes `-n` as kubectl does, the hint writes it.
    pub fn as_helm_flags(&self) -> String {
        self.connection_flags("--kube-context")
    }

    /// `--kubeconfig` and `--context` for a kubectl command line, without `-n` (empty or
    /// starting with a space).
    pub fn as_connection_flags(&self) -> String {
        self.connection_flags("--context")
    }

    /// `--kubeconfig F` and the context under the flag name the tool gives it.
    fn connection_flags(&self, context_flag: &str) -> String {
        let mut out = String::new();
        if let Some(k) = &self.kubeconfig {
            out.push_str(&format!(
                " --kubeconfig {}",
                shell_word(&k.display().to_string())
            ));
        }
        if let Some(c) = &self.context {
            out.push_str(&format!(" {context_flag} {}", shell_word(c)));
        }
        out
    }
}

/// A word as a POSIX shell reads it back: bare when it is made of safe characters, else in
/// single quotes.
pub fn shell_word(word: &str) -> String {
    let safe = !word.is_empty()
        && word
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./:=@%+,".contains(c));
    if safe {
        word.to_owned()
    } else {
        format!("'{}'", word.replace('\'', r"'\''"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_are_repeated_so_hints_act_on_the_same_cluster() {
        let args = KubeArgs {
            kubeconfig: Some("/tmp/my config".into()),
            context: Some("dev".into()),
            namespace: None,
            request_timeout: None,
        };
        assert_eq!(
            args.as_flags(Some("todo")),
            " --kubeconfig '/tmp/my config' --context dev -n todo"
        );
        assert_eq!(KubeArgs::default().as_flags(None), "");
    }

    #[test]
    fn shell_words_quote_what_the_shell_would_split() {
        assert_eq!(shell_word("todo"), "todo");
        assert_eq!(shell_word("a b"), "'a b'");
        assert_eq!(shell_word("it's"), r"'it'\''s'");
        assert_eq!(shell_word(""), "''");
    }
}
