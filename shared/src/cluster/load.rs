//! Reading the kubeconfig as kubectl does: `--kubeconfig`, else every existing file of the
//! `KUBECONFIG` list merged (missing ones skipped), else `~/.kube/config`; each file capped
//! at [`MAX_KUBECONFIG_BYTES`]; and the combinations kubectl refuses refused the same way.

use std::io::Read as _;
use std::path::{Path, PathBuf};

use kube::config::{Kubeconfig, KubeconfigError};

use super::ClusterError;

/// The largest kubeconfig file read (kubeconfigs are a few KiB; `/dev/zero` is not one).
pub const MAX_KUBECONFIG_BYTES: u64 = 4 * 1024 * 1024;

/// The kubeconfig files to read, in order: `explicit`, else the existing files of
/// `kubeconfig_env` (a `KUBECONFIG` value; missing files skipped as kubectl does), else
/// `default`. Pure: `exists` says which paths exist.
pub fn plan_files(
    explicit: Option<&Path>,
    kubeconfig_env: Option<&std::ffi::OsStr>,
    default: Option<PathBuf>,
    exists: impl Fn(&Path) -> bool,
) -> Vec<PathBuf> {
    if let Some(p) = explicit {
        return vec![p.to_path_buf()];
    }
    let listed: Vec<PathBuf> = kubeconfig_env
        .map(|v| {
            std::env::split_paths(v)
                .filter(|p| !p.as_os_str().is_empty())
                .collect()
        })
        .unwrap_or_default();
    if listed.is_empty() {
        return default.into_iter().collect();
    }
    listed.into_iter().filter(|p| exists(p)).collect()
}

/// Read and merge the kubeconfig the flags and the environment name.
pub fn read(explicit: Option<&Path>) -> Result<Kubeconfig, ClusterError> {
    let home = std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".kube/config"));
    let env = std::env::var_os("KUBECONFIG");
    let files = plan_files(explicit, env.as_deref(), home, Path::exists);
    if files.is_empty() {
        return Err(super::kubeconfig_error(None, KubeconfigError::FindPath));
    }
    let mut merged: Option<Kubeconfig> = None;
    for file in &files {
        check_size(file)?;
        let one =
            Kubeconfig::read_from(file).map_err(|e| super::kubeconfig_error(Some(file), e))?;
        merged = Some(match merged {
            None => one,
            Some(m) => m
                .merge(one)
                .map_err(|e| super::kubeconfig_error(Some(file), e))?,
        });
    }
    merged.ok_or_else(|| super::kubeconfig_error(None, KubeconfigError::FindPath))
}

/// Refuse a file larger than [`MAX_KUBECONFIG_BYTES`] (read with a cap, so a device or a
/// pipe cannot make it read forever).
fn check_size(file: &Path) -> Result<(), ClusterError> {
    let Ok(f) = std::fs::File::open(file) else {
        // The loader reports why it cannot be opened.
        return Ok(());
    };
    let read = std::io::copy(&mut f.take(MAX_KUBECONFIG_BYTES + 1), &mut std::io::sink());
    match read {
        Ok(n) if n > MAX_KUBECONFIG_BYTES => Err(ClusterError::Kubeconfig {
            detail: format!(
                "{} is larger than {} MiB; it is not a kubeconfig",
                file.display(),
                MAX_KUBECONFIG_BYTES / (1024 * 1024)
            ),
            source: None,
            flags: String::new(),
        }),
        _ => Ok(()),
    }
}

/// kubectl's refusals for the cluster of `context`: `insecure-skip-tls-verify` together with
/// a certificate authority ("specifying a root certificates file with the insecure flag is
/// not allowed"), and a server URL without a scheme.
pub fn check_cluster(kubeconfig: &Kubeconfig, context: &str) -> Result<(), ClusterError> {
    let cluster_name = kubeconfig
        .contexts
        .iter()
        .find(|c| c.name == context)
        .and_then(|c| c.context.as_ref())
        .map(|c| c.cluster.as_str());
    let Some(cluster) = kubeconfig
        .clusters
        .iter()
        .find(|c| Some(c.name.as_str()) == cluster_name)
        .and_then(|c| c.cluster.as_ref())
    else {
        return Ok(());
    };
    let refuse = |detail: String| {
        Err(ClusterError::Kubeconfig {
            detail,
            source: None,
            flags: String::new(),
        })
    };
    if cluster.insecure_skip_tls_verify == Some(true)
        && (cluster.certificate_authority.is_some() || cluster.certificate_authority_data.is_some())
    {
        return refuse(format!(
            "cluster {:?}: insecure-skip-tls-verify together with a certificate authority is not allowed (kubectl refuses it too); keep one of them",
            cluster_name.unwrap_or_default()
        ));
    }
    if let Some(server) = &cluster.server
        && !has_scheme(server)
    {
        return refuse(format!(
            "cluster {:?}: the server URL has no scheme; write it as https://HOST:PORT",
            cluster_name.unwrap_or_default()
        ));
    }
    Ok(())
}

/// Whether a server URL starts with `http://` or `https://` (case-insensitive).
pub fn has_scheme(server: &str) -> bool {
    let lower = server.trim_start().to_ascii_lowercase();
    lower.starts_with("https://") || lower.starts_with("http://")
}

/// A server URL as messages show it: without userinfo (`https://user:PASS@host` and
/// `https://TOKEN@host` both become `https://host`), control characters removed, at most 200
/// characters. A kubeconfig is foreign input; a password there must never reach a message.
pub fn shown_server(server: &str) -> String {
    let is_scheme = |s: &str| {
        s.starts_with(|c: char| c.is_ascii_alphabetic())
            && s.chars()
                .all(|c| c.is_ascii_alphanumeric() || "+.-".contains(c))
    };
    let (scheme, rest) = match server.find("://") {
        Some(i) if is_scheme(&server[..i]) => server.split_at(i + 3),
        _ => ("", server),
    };
    // Userinfo ends at the last `@` before the path; a password may hold `@`, `/` and `:`,
    // so any `@` counts (a path with `@` is shown shorter, never leaked).
    let rest = rest.rsplit_once('@').map_or(rest, |(_, host)| host);
    let shown = crate::redact::printable(&format!("{scheme}{rest}"));
    if shown.chars().count() > 200 {
        shown.chars().take(200).chain("…".chars()).collect()
    } else {
        shown
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn server_urls_are_shown_without_userinfo() {
        for (url, shown) in [
            (
                "https://admin:S3cr3t@10.0.0.1:6443",
                "https://10.0.0.1:6443",
            ),
            ("https://tok3n@h:6443/", "https://h:6443/"),
            ("https://u:p@ss/w:rd@h:6443", "https://h:6443"),
            ("https://h:6443", "https://h:6443"),
            ("h:6443", "h:6443"),
            // Found by the property: a password holding `://` in a URL without a scheme.
            ("://S3cr3t@h", "h"),
            ("https://h\x1b[2J:6443", "https://h[2J:6443"),
        ] {
            assert_eq!(shown_server(url), shown, "{url:?}");
        }
    }

    mod props {
        use super::*;
        use proptest::prelude::*;

        proptest! {
            #[test]
            fn server_passwords_never_shown(
                scheme in "(https?://)?",
                user in "[a-z0-9]{0,8}:?",
                password in "[A-Za-z0-9@:/%!$*+=?._~-]{0,10}SNTL[A-Za-z0-9@:/%!$*+=?._~-]{0,10}",
                host in "[a-z0-9.-]{1,20}(:[0-9]{1,5})?",
                path in "(/[a-z]{0,8})?",
            ) {
                let url = format!("{scheme}{user}{password}@{host}{path}");
                let shown = shown_server(&url);
                prop_assert!(!shown.contains("SNTL"), "{url:?} -> {shown:?}");
                let want = format!("{scheme}{host}{path}");
                if scheme.is_empty() {
                    // `a:` + `//PASS` reads as the scheme `a:`; only the host is certain.
                    prop_assert!(shown.ends_with(&format!("{host}{path}")), "{url:?} -> {shown:?}");
                } else {
                    prop_assert_eq!(shown, want);
                }
            }

            #[test]
            fn any_server_text_is_shown_bounded_and_printable(url in any::<String>()) {
                let shown = shown_server(&url);
                prop_assert!(shown.chars().count() <= 201);
                prop_assert!(!shown.chars().any(char::is_control));
                let _ = has_scheme(&url);
            }
        }
    }

    #[test]
    fn missing_files_of_the_list_are_skipped_like_kubectl() {
        let env = std::ffi::OsString::from("/nonexistent:/good::/other");
        let got = plan_files(None, Some(&env), Some("/home".into()), |p| {
            p != Path::new("/nonexistent")
        });
        assert_eq!(got, vec![PathBuf::from("/good"), PathBuf::from("/other")]);
        let none = plan_files(None, Some(&env), None, |_| false);
        assert!(none.is_empty());
    }

    #[test]
    fn the_flag_wins_and_an_empty_list_means_the_default() {
        let env = std::ffi::OsString::from("/a");
        assert_eq!(
            plan_files(Some(Path::new("/flag")), Some(&env), None, |_| true),
            vec![PathBuf::from("/flag")]
        );
        let empty = std::ffi::OsString::from("");
        assert_eq!(
            plan_files(None, Some(&empty), Some("/home".into()), |_| true),
            vec![PathBuf::from("/home")]
        );
    }

    fn kubeconfig(cluster: &str) -> Kubeconfig {
        Kubeconfig::from_yaml(&format!(
            "apiVersion: v1\nkind: Config\nclusters:\n- name: c\n  cluster:\n{cluster}\ncontexts:\n- name: x\n  context: {{cluster: c, user: u}}\nusers:\n- name: u\n  user: {{}}\n"
        ))
        .unwrap()
    }

    #[test]
    fn insecure_with_a_certificate_authority_is_refused() {
        let kc = kubeconfig(
            "    server: https://h:6443\n    insecure-skip-tls-verify: true\n    certificate-authority-data: AAAA",
        );
        let err = check_cluster(&kc, "x").unwrap_err().to_string();
        assert!(err.contains("insecure-skip-tls-verify"), "{err}");
        let ok = kubeconfig("    server: https://h:6443\n    insecure-skip-tls-verify: true");
        assert!(check_cluster(&ok, "x").is_ok());
    }

    #[test]
    fn a_server_without_a_scheme_is_refused_not_a_panic() {
        let kc = kubeconfig("    server: 127.0.0.1:6443");
        let err = check_cluster(&kc, "x").unwrap_err().to_string();
        assert!(err.contains("no scheme"), "{err}");
        assert!(has_scheme("HTTPS://h") && !has_scheme("h:1"));
    }
}
