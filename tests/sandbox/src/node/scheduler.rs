//! Scheduling by capacity on the one node, like kube-scheduler's `NodeResourcesFit` and
//! pod-count checks: a pod fits when the requests of the pods already bound to the node
//! (and not finished), plus its own, fit the node's allocatable.

use serde_json::Value;

use crate::scenario::NodeSpec;

/// Resource requests: milli-CPU and memory bytes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Requests {
    /// CPU in millicores.
    pub milli_cpu: i64,
    /// Memory in bytes.
    pub memory: i64,
}

impl Requests {
    fn add(self, other: Requests) -> Requests {
        Requests {
            milli_cpu: self.milli_cpu.saturating_add(other.milli_cpu),
            memory: self.memory.saturating_add(other.memory),
        }
    }

    fn max(self, other: Requests) -> Requests {
        Requests {
            milli_cpu: self.milli_cpu.max(other.milli_cpu),
            memory: self.memory.max(other.memory),
        }
    }
}

/// The node's allocatable resources.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Allocatable {
    /// CPU in millicores.
    pub milli_cpu: i64,
    /// Memory in bytes.
    pub memory: i64,
    /// Pod count.
    pub pods: i64,
}

impl Allocatable {
    /// The allocatable of the scenario's node; an unparsable quantity means no limit.
    pub fn of(node: &NodeSpec) -> Allocatable {
        Allocatable {
            milli_cpu: milli_cpu(&node.cpu).unwrap_or(i64::MAX),
            memory: bytes(&node.memory).unwrap_or(i64::MAX),
            pods: bytes(&node.pods).unwrap_or(i64::MAX),
        }
    }
}

/// The value of a Kubernetes quantity (`500m`, `2`, `128Mi`, `1e9`, `512M`) in base units.
pub fn parse_quantity(q: &str) -> Option<f64> {
    let q = q.trim();
    let end = q
        .char_indices()
        .find(|&(i, c)| !(c.is_ascii_digit() || c == '.' || ((c == '+' || c == '-') && i == 0)))
        .map_or(q.len(), |(i, _)| i);
    let (num, suffix) = q.split_at(end);
    if num.is_empty() || num == "+" || num == "-" || num == "." {
        return None;
    }
    let value: f64 = num.parse().ok()?;
    let multiplier = match suffix {
        "" => 1.0,
        "n" => 1e-9,
        "u" => 1e-6,
        "m" => 1e-3,
        "k" => 1e3,
        "M" => 1e6,
        "G" => 1e9,
        "T" => 1e12,
        "P" => 1e15,
        "E" => 1e18,
        "Ki" => 1024.0,
        "Mi" => 1024f64.powi(2),
        "Gi" => 1024f64.powi(3),
        "Ti" => 1024f64.powi(4),
        "Pi" => 1024f64.powi(5),
        "Ei" => 1024f64.powi(6),
        s if s.len() > 1 && (s.starts_with('e') || s.starts_with('E')) => {
            let exp: i32 = s[1..].parse().ok()?;
            10f64.powi(exp)
        }
        _ => return None,
    };
    let v = value * multiplier;
    v.is_finite().then_some(v)
}

/// A CPU quantity in millicores (rounded up, as Kubernetes does).
pub fn milli_cpu(q: &str) -> Option<i64> {
    parse_quantity(q).map(|v| (v * 1000.0 - 1e-9).ceil() as i64)
}

/// A memory (or count) quantity in base units (rounded up).
pub fn bytes(q: &str) -> Option<i64> {
    parse_quantity(q).map(|v| (v - 1e-9).ceil() as i64)
}

/// A container's requests; a resource with a limit but no request requests its limit (the
/// API server's defaulting).
pub fn container_requests(c: &Value) -> Requests {
    let get = |res: &str| {
        c.pointer(&format!("/resources/requests/{res}"))
            .or_else(|| c.pointer(&format!("/resources/limits/{res}")))
            .and_then(|v| match v {
                Value::String(s) => Some(s.clone()),
                Value::Number(n) => Some(n.to_string()),
                _ => None,
            })
    };
    Requests {
        milli_cpu: get("cpu").and_then(|q| milli_cpu(&q)).unwrap_or(0),
        memory: get("memory").and_then(|q| bytes(&q)).unwrap_or(0),
    }
}

/// A pod's effective requests: the sum over containers, at least the largest init
/// container, plus the pod overhead.
pub fn pod_requests(pod: &Value) -> Requests {
    let list = |field: &str| {
        pod.pointer(&format!("/spec/{field}"))
            .and_then(Value::as_array)
            .map(Vec::as_slice)
            .unwrap_or(&[])
            .iter()
            .map(container_requests)
            .collect::<Vec<_>>()
    };
    let sum = list("containers")
        .into_iter()
        .fold(Requests::default(), Requests::add);
    let init = list("initContainers")
        .into_iter()
        .fold(Requests::default(), Requests::max);
    let overhead = pod
        .pointer("/spec/overhead")
        .map(|o| container_requests(&serde_json::json!({"resources": {"requests": o}})))
        .unwrap_or_default();
    sum.max(init).add(overhead)
}

/// Why a pod with `pod` requests does not fit a node with `node` allocatable on which
/// `used` is requested by `bound` pods; empty when it fits. Sorted like the scheduler's.
pub fn insufficient(
    node: Allocatable,
    used: Requests,
    bound: usize,
    pod: Requests,
) -> Vec<&'static str> {
    let mut out = Vec::new();
    if pod.milli_cpu > 0 && pod.milli_cpu > node.milli_cpu.saturating_sub(used.milli_cpu) {
        out.push("Insufficient cpu");
    }
    if pod.memory > 0 && pod.memory > node.memory.saturating_sub(used.memory) {
        out.push("Insufficient memory");
    }
    if i64::try_from(bound).unwrap_or(i64::MAX).saturating_add(1) > node.pods {
        out.push("Too many pods");
    }
    out.sort_unstable();
    out
}

/// The scheduler's FailedScheduling message for a one-node cluster.
pub fn unschedulable_message(reasons: &[&str]) -> String {
    let list: Vec<String> = reasons.iter().map(|r| format!("1 {r}")).collect();
    format!(
        "0/1 nodes are available: {}. preemption: 0/1 nodes are available: 1 No preemption victims found for incoming pod.",
        list.join(", ")
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn quantities_parse_like_kubernetes() {
        assert_eq!(milli_cpu("2"), Some(2000));
        assert_eq!(milli_cpu("500m"), Some(500));
        assert_eq!(milli_cpu("0.1"), Some(100));
        assert_eq!(milli_cpu("1.5"), Some(1500));
        assert_eq!(bytes("128Mi"), Some(128 * 1024 * 1024));
        assert_eq!(bytes("1Gi"), Some(1024 * 1024 * 1024));
        assert_eq!(bytes("3920Mi"), Some(3920 * 1024 * 1024));
        assert_eq!(bytes("1e9"), Some(1_000_000_000));
        assert_eq!(bytes("512M"), Some(512_000_000));
        assert_eq!(bytes("64Ki"), Some(65536));
        assert_eq!(bytes("110"), Some(110));
        assert_eq!(bytes("1E"), Some(1_000_000_000_000_000_000));
        assert_eq!(bytes("2E3"), Some(2000));
        assert_eq!(bytes(""), None);
        assert_eq!(bytes("lots"), None);
        assert_eq!(bytes("12Xi"), None);
    }

    #[test]
    fn pod_requests_sum_containers_and_default_to_limits() {
        let pod = json!({"spec": {
            "initContainers": [{"resources": {"requests": {"cpu": "3"}}}],
            "containers": [
                {"resources": {"requests": {"cpu": "100m", "memory": "256Mi"}}},
                {"resources": {"limits": {"cpu": "200m", "memory": "64Mi"}}},
                {"name": "no-requests"}
            ]
        }});
        assert_eq!(
            pod_requests(&pod),
            Requests {
                milli_cpu: 3000,
                memory: 320 * 1024 * 1024
            }
        );
        assert_eq!(pod_requests(&json!({"spec": {}})), Requests::default());
        let numeric = json!({"resources": {"requests": {"cpu": 1}}});
        assert_eq!(container_requests(&numeric).milli_cpu, 1000);
    }

    #[test]
    fn fit_checks_cpu_memory_and_pod_count() {
        let node = Allocatable {
            milli_cpu: 2000,
            memory: bytes("3920Mi").unwrap(),
            pods: 3,
        };
        let used = Requests {
            milli_cpu: 1500,
            memory: bytes("3Gi").unwrap(),
        };
        let small = Requests {
            milli_cpu: 500,
            memory: bytes("128Mi").unwrap(),
        };
        assert!(insufficient(node, used, 1, small).is_empty());
        let big = Requests {
            milli_cpu: 501,
            memory: bytes("1Gi").unwrap(),
        };
        assert_eq!(
            insufficient(node, used, 1, big),
            ["Insufficient cpu", "Insufficient memory"]
        );
        // No requests: always fits, except for the pod count.
        assert!(insufficient(node, used, 2, Requests::default()).is_empty());
        assert_eq!(
            insufficient(node, used, 3, Requests::default()),
            ["Too many pods"]
        );
        // Over-committed node (pods without requests never count).
        let over = Requests {
            milli_cpu: 5000,
            memory: 0,
        };
        assert!(insufficient(node, over, 0, Requests::default()).is_empty());
    }

    #[test]
    fn unschedulable_message_matches_the_scheduler() {
        assert_eq!(
            unschedulable_message(&["Insufficient cpu"]),
            "0/1 nodes are available: 1 Insufficient cpu. preemption: 0/1 nodes are available: 1 No preemption victims found for incoming pod."
        );
        assert_eq!(
            unschedulable_message(&["Insufficient cpu", "Insufficient memory"]),
            "0/1 nodes are available: 1 Insufficient cpu, 1 Insufficient memory. preemption: 0/1 nodes are available: 1 No preemption victims found for incoming pod."
        );
    }

    #[test]
    fn default_node_allocatable_parses() {
        let a = Allocatable::of(&NodeSpec::default());
        assert_eq!(a.milli_cpu, 2000);
        assert_eq!(a.memory, 3920 * 1024 * 1024);
        assert_eq!(a.pods, 110);
    }
}
