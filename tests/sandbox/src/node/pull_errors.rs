//! The errors a failed pull gives, worded as the runtimes and the kubelet word them in
//! Kubernetes 1.33: containerd's (`failed to pull and unpack image ... not found`, `pull access
//! denied, repository does not exist or may require authorization`, `dial tcp ...: i/o
//! timeout`) and Docker Engine's through cri-dockerd (`manifest for ... not found`, `pull
//! access denied for ..., repository does not exist or may require 'docker login'`). The
//! kubelet's CRI client strips the gRPC prefix of `Unknown` errors only, so a containerd "not
//! found" keeps `rpc error: code = NotFound desc = `.

use crate::image_ref::ImageRef;
use crate::platform::Runtime;
use crate::scenario::PullFailure;

/// The registry host a repository is pulled from (Docker Hub's API host for docker.io).
fn api_host(r: &ImageRef) -> &str {
    if r.domain == "docker.io" {
        "registry-1.docker.io"
    } else {
        &r.domain
    }
}

/// A stable documentation-range address for a registry host (TEST-NET-3).
fn fake_ip(host: &str) -> String {
    let h = host
        .bytes()
        .fold(7u32, |a, b| a.wrapping_mul(31).wrapping_add(u32::from(b)));
    format!("203.0.113.{}", h % 250 + 1)
}

/// The reference containerd resolves: qualified, by digest when there is one.
fn containerd_ref(r: &ImageRef) -> String {
    r.by_digest()
        .or_else(|| r.by_tag())
        .unwrap_or_else(|| r.qualified())
}

/// The manifest URL a pull asks for first.
fn manifest_url(r: &ImageRef) -> String {
    let reference = r
        .digest
        .clone()
        .or_else(|| r.tag.clone())
        .unwrap_or_else(|| "latest".into());
    format!(
        "https://{}/v2/{}/manifests/{reference}",
        api_host(r),
        r.path
    )
}

/// The pull error of `r` on `runtime`, as the kubelet reports it (event, waiting message).
pub fn message(r: &ImageRef, failure: PullFailure, runtime: Runtime) -> String {
    match runtime {
        Runtime::Containerd => {
            let q = containerd_ref(r);
            let resolve =
                format!("failed to pull and unpack image {q:?}: failed to resolve reference {q:?}");
            match failure {
                PullFailure::NotFound => {
                    format!("rpc error: code = NotFound desc = {resolve}: {q}: not found")
                }
                PullFailure::Denied => format!(
                    "{resolve}: pull access denied, repository does not exist or may require authorization: server message: insufficient_scope: authorization failed"
                ),
                PullFailure::Timeout => format!(
                    "rpc error: code = DeadlineExceeded desc = {resolve}: failed to do request: Head {:?}: dial tcp {}:443: i/o timeout",
                    manifest_url(r),
                    fake_ip(api_host(r))
                ),
            }
        }
        Runtime::Docker => match failure {
            PullFailure::NotFound => format!(
                "Error response from daemon: manifest for {} not found: manifest unknown: manifest unknown",
                r.familiar()
            ),
            PullFailure::Denied => format!(
                "Error response from daemon: pull access denied for {}, repository does not exist or may require 'docker login': denied: requested access to the resource is denied",
                r.familiar_repository()
            ),
            PullFailure::Timeout => format!(
                "Error response from daemon: Get \"https://{}/v2/\": dial tcp {}:443: i/o timeout",
                api_host(r),
                fake_ip(api_host(r))
            ),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn r(s: &str) -> ImageRef {
        ImageRef::parse(s).unwrap()
    }

    #[test]
    fn containerd_wording() {
        let img = r("todo-chatbot-backend:9.9.9");
        assert_eq!(
            message(&img, PullFailure::NotFound, Runtime::Containerd),
            "rpc error: code = NotFound desc = failed to pull and unpack image \"docker.io/library/todo-chatbot-backend:9.9.9\": failed to resolve reference \"docker.io/library/todo-chatbot-backend:9.9.9\": docker.io/library/todo-chatbot-backend:9.9.9: not found"
        );
        assert_eq!(
            message(&img, PullFailure::Denied, Runtime::Containerd),
            "failed to pull and unpack image \"docker.io/library/todo-chatbot-backend:9.9.9\": failed to resolve reference \"docker.io/library/todo-chatbot-backend:9.9.9\": pull access denied, repository does not exist or may require authorization: server message: insufficient_scope: authorization failed"
        );
        let t = message(
            &r("registry.example.com/todo/app:1"),
            PullFailure::Timeout,
            Runtime::Containerd,
        );
        assert!(t.starts_with("rpc error: code = DeadlineExceeded desc = failed to pull and unpack image \"registry.example.com/todo/app:1\""), "{t}");
        assert!(
            t.contains(
                "Head \"https://registry.example.com/v2/todo/app/manifests/1\": dial tcp 203.0.113."
            ),
            "{t}"
        );
        assert!(t.ends_with(":443: i/o timeout"), "{t}");
    }

    #[test]
    fn docker_wording() {
        let img = r("todo-chatbot-backend:9.9.9");
        assert_eq!(
            message(&img, PullFailure::Denied, Runtime::Docker),
            "Error response from daemon: pull access denied for todo-chatbot-backend, repository does not exist or may require 'docker login': denied: requested access to the resource is denied"
        );
        assert_eq!(
            message(&img, PullFailure::NotFound, Runtime::Docker),
            "Error response from daemon: manifest for todo-chatbot-backend:9.9.9 not found: manifest unknown: manifest unknown"
        );
        let t = message(&img, PullFailure::Timeout, Runtime::Docker);
        assert!(
            t.starts_with(
                "Error response from daemon: Get \"https://registry-1.docker.io/v2/\": dial tcp "
            ),
            "{t}"
        );
    }
}
