//! `cluster.reachable`: the API server answered (verify would have stopped otherwise).

use crate::verify::CheckResult;
use crate::verify::collect::Snapshot;

/// The server, its version and the context; minikube is recognised by its kubeconfig
/// provider extension.
pub fn reachable(s: &Snapshot) -> CheckResult {
    let minikube = if s.minikube { ", minikube" } else { "" };
    CheckResult::pass(
        "cluster.reachable",
        format!(
            "{} answered (Kubernetes {}), context {:?}{minikube}",
            s.server, s.server_version, s.context
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::verify::checks::fixture;

    #[test]
    fn reachable_names_version_context_and_minikube() {
        let r = reachable(&fixture::snapshot());
        assert!(
            r.message.contains("v1.33.1")
                && r.message.contains("todo-sandbox")
                && r.message.contains("minikube")
        );
    }
}
