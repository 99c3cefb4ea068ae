//! `cluster.reachable`: the API server answered (verify would have stopped otherwise).

use crate::verify::CheckResult;
use crate::verify::collect::Snapshot;

/// The server, its version, the context and the platform (see [`crate::platform`]).
pub fn reachable(s: &Snapshot) -> CheckResult {
    CheckResult::pass(
        "cluster.reachable",
        format!(
            "{} answered (Kubernetes {}), context {:?}, platform {}",
            s.server, s.server_version, s.context, s.platform
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
