//! Kubernetes resource quantities (`500m`, `2`, `128Mi`, `1Gi`, `1e9`) and the capacity
//! arithmetic behind the "does the node have room for N replicas" warning.
//!
//! Pure: no I/O. Values are kept as `f64` in base units (cores, bytes); the precision is far
//! beyond what a capacity warning needs.
//!
//! The sandbox's `tests/sandbox/src/quantity.rs` parses quantities too, deliberately on its
//! own (it must not share the plugins' bugs); both are tested against `tests/vectors`.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{Container, Node, Pod, PodSpec};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;

/// Parse a quantity into base units (cores for CPU, bytes for memory), as Kubernetes'
/// `resource.ParseQuantity` does (checked against `tests/vectors/quantities.json`).
///
/// The grammar: an optional sign, a decimal number (`5`, `5.`, `.5`, `5.5`), then nothing, a
/// binary suffix (`Ki Mi Gi Ti Pi Ei`), a decimal suffix (`n u m k M G T P E`) or an exponent
/// (`e3`, `E-3`, `E+6`). Negative quantities parse (validation rejects them later, not the
/// parser); non-zero values round away from zero to a whole nano unit; binary-suffixed values
/// are capped at the largest int64. Surrounding whitespace is an error (the API server's JSON
/// decoder trims it first; see [`Resources`] for where that is done).
pub fn parse_quantity(text: &str) -> Option<f64> {
    if text.is_empty() {
        return None;
    }
    let (negative, rest) = match text.as_bytes()[0] {
        b'-' => (true, &text[1..]),
        b'+' => (false, &text[1..]),
        _ => (false, text),
    };
    let int_len = rest.bytes().take_while(u8::is_ascii_digit).count();
    let (int_part, rest) = rest.split_at(int_len);
    let (frac_part, suffix) = match rest.strip_prefix('.') {
        Some(after) => {
            let n = after.bytes().take_while(u8::is_ascii_digit).count();
            after.split_at(n)
        }
        None => ("", rest),
    };
    let (pow10, pow1024) = suffix_powers(suffix)?;
    let magnitude = magnitude(int_part, frac_part, pow10, pow1024);
    let magnitude = if pow1024 > 0 {
        magnitude.min(i64::MAX as f64)
    } else {
        magnitude
    };
    Some(if negative { -magnitude } else { magnitude })
}

/// The powers of ten and of 1024 a suffix stands for; `None` for an unknown suffix.
fn suffix_powers(suffix: &str) -> Option<(i64, u32)> {
    const BINARY: [&str; 6] = ["Ki", "Mi", "Gi", "Ti", "Pi", "Ei"];
    const DECIMAL: [(&str, i64); 10] = [
        ("", 0),
        ("n", -9),
        ("u", -6),
        ("m", -3),
        ("k", 3),
        ("M", 6),
        ("G", 9),
        ("T", 12),
        ("P", 15),
        ("E", 18),
    ];
    if let Some(i) = BINARY.iter().position(|s| *s == suffix) {
        return Some((0, i as u32 + 1));
    }
    if let Some((_, p)) = DECIMAL.iter().find(|(s, _)| *s == suffix) {
        return Some((*p, 0));
    }
    let exponent = suffix.strip_prefix(['e', 'E'])?;
    let digits = exponent.strip_prefix(['+', '-']).unwrap_or(exponent);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some((exponent.parse::<i64>().ok()?, 0))
}

/// `int.frac × 10^pow10 × 1024^pow1024`, rounded up to a whole nano unit when it has more
/// precision than that. Exact (integer arithmetic) while the numbers fit in a u128.
fn magnitude(int_part: &str, frac_part: &str, pow10: i64, pow1024: u32) -> f64 {
    let digits = format!("{int_part}{frac_part}");
    let digits = digits.trim_start_matches('0');
    if digits.is_empty() {
        return 0.0;
    }
    // value = digits × 10^scale × 1024^pow1024, in nano units: × 10^9.
    // Saturating: an exponent such as `e9223372036854775807` must not overflow (it did).
    let scale = pow10
        .saturating_sub(frac_part.len() as i64)
        .saturating_add(9);
    let exact = || -> Option<f64> {
        let mantissa: u128 = digits.parse().ok()?;
        let scaled = mantissa.checked_mul(1024u128.checked_pow(pow1024)?)?;
        let nanos = if scale >= 0 {
            scaled.checked_mul(10u128.checked_pow(u32::try_from(scale).ok()?)?)?
        } else {
            match u32::try_from(scale.unsigned_abs())
                .ok()
                .and_then(|p| 10u128.checked_pow(p))
            {
                Some(divisor) => scaled.div_ceil(divisor),
                // More than 38 places below a nano: any non-zero value rounds up to 1n.
                None => 1,
            }
        };
        Some(nanos as f64 / 1e9)
    };
    exact().unwrap_or_else(|| {
        let mantissa: f64 = digits.parse().unwrap_or(f64::INFINITY);
        mantissa
            * 10f64.powi(scale.saturating_sub(9).clamp(-400, 400) as i32)
            * 1024f64.powi(pow1024 as i32)
    })
}

/// CPU (cores) and memory (bytes).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Resources {
    /// CPU in cores (`500m` = 0.5).
    pub cpu: f64,
    /// Memory in bytes.
    pub memory: f64,
}

impl Resources {
    fn from_map(map: Option<&BTreeMap<String, Quantity>>) -> Resources {
        let get = |key: &str| {
            map.and_then(|m| m.get(key))
                .and_then(|q| parse_quantity(q.0.trim()))
                .unwrap_or(0.0)
        };
        Resources {
            cpu: get("cpu"),
            memory: get("memory"),
        }
    }

    fn max(self, other: Resources) -> Resources {
        Resources {
            cpu: self.cpu.max(other.cpu),
            memory: self.memory.max(other.memory),
        }
    }

    fn add(self, other: Resources) -> Resources {
        Resources {
            cpu: self.cpu + other.cpu,
            memory: self.memory + other.memory,
        }
    }
}

/// What one container requests: `requests`, each resource defaulting to its `limits` (the
/// API server's defaulting).
fn container_requests(c: &Container) -> Resources {
    let r = c.resources.as_ref();
    let requests = Resources::from_map(r.and_then(|r| r.requests.as_ref()));
    let limits = Resources::from_map(r.and_then(|r| r.limits.as_ref()));
    let has = |key: &str| {
        r.and_then(|r| r.requests.as_ref())
            .is_some_and(|m| m.contains_key(key))
    };
    Resources {
        cpu: if has("cpu") { requests.cpu } else { limits.cpu },
        memory: if has("memory") {
            requests.memory
        } else {
            limits.memory
        },
    }
}

/// What one pod of this spec requests, by the scheduler's rule (`resource.PodRequests`): app
/// containers and sidecars (init containers with `restartPolicy: Always`) are summed; each
/// regular init container needs itself plus the sidecars started before it, and the pod needs
/// at least the largest of these; `overhead` is added last. Per resource. Checked against
/// `tests/vectors/pod-requests.json`.
pub fn pod_requests(spec: &PodSpec) -> Resources {
    let apps = spec.containers.iter().fold(Resources::default(), |acc, c| {
        acc.add(container_requests(c))
    });
    let mut sidecars = Resources::default();
    let mut init_peak = Resources::default();
    for c in spec.init_containers.iter().flatten() {
        let r = container_requests(c);
        if c.restart_policy.as_deref() == Some("Always") {
            sidecars = sidecars.add(r);
            init_peak = init_peak.max(sidecars);
        } else {
            init_peak = init_peak.max(sidecars.add(r));
        }
    }
    let overhead = Resources::from_map(spec.overhead.as_ref());
    apps.add(sidecars).max(init_peak).add(overhead)
}

/// Free room on one node: allocatable minus the requests of its running pods.
#[derive(Debug, Clone, PartialEq)]
pub struct NodeRoom {
    /// The node's name.
    pub node: String,
    /// Allocatable CPU and memory.
    pub allocatable: Resources,
    /// Sum of the requests of non-terminated pods bound to the node.
    pub requested: Resources,
}

impl NodeRoom {
    /// Allocatable minus requested (may be negative when overcommitted by static pods).
    pub fn free(&self) -> Resources {
        Resources {
            cpu: self.allocatable.cpu - self.requested.cpu,
            memory: self.allocatable.memory - self.requested.memory,
        }
    }

    /// How many pods requesting `per_pod` still fit on this node (`u64::MAX` when the pod
    /// requests nothing).
    pub fn fits(&self, per_pod: Resources) -> u64 {
        let free = self.free();
        let count = |free: f64, need: f64| {
            if need <= 0.0 {
                u64::MAX
            } else if free <= 0.0 {
                0
            } else {
                // Tolerate float noise: 1.5 cores / 0.5 cores must give 3, not 2.
                ((free / need) + 1e-9).floor() as u64
            }
        };
        count(free.cpu, per_pod.cpu).min(count(free.memory, per_pod.memory))
    }
}

/// Whether a node is cordoned (`spec.unschedulable`): the scheduler places nothing new there.
pub fn cordoned(node: &Node) -> bool {
    node.spec
        .as_ref()
        .and_then(|s| s.unschedulable)
        .unwrap_or(false)
}

/// Work out each schedulable node's free room from the nodes and all pods of the cluster.
/// Unschedulable (cordoned) nodes are left out; finished pods (Succeeded, Failed) and pods
/// not bound to a node request nothing.
pub fn node_rooms(nodes: &[Node], pods: &[Pod]) -> Vec<NodeRoom> {
    nodes
        .iter()
        .filter(|n| !cordoned(n))
        .map(|n| {
            let name = n.metadata.name.clone().unwrap_or_default();
            let allocatable = Resources::from_map(
                n.status
                    .as_ref()
                    .and_then(|s| s.allocatable.as_ref().or(s.capacity.as_ref())),
            );
            let requested = pods
                .iter()
                .filter(|p| {
                    let phase = p.status.as_ref().and_then(|s| s.phase.as_deref());
                    !matches!(phase, Some("Succeeded") | Some("Failed"))
                        && p.spec.as_ref().and_then(|s| s.node_name.as_deref())
                            == Some(name.as_str())
                })
                .filter_map(|p| p.spec.as_ref().map(pod_requests))
                .fold(Resources::default(), Resources::add);
            NodeRoom {
                node: name,
                allocatable,
                requested,
            }
        })
        .collect()
}

/// Why the requested replicas may not fit, or `None` when they do (or need nothing).
///
/// `extra` is how many pods the scale adds (new count minus the current one); a scale down
/// never warns.
pub fn capacity_shortfall(rooms: &[NodeRoom], per_pod: Resources, extra: u64) -> Option<String> {
    if extra == 0 || (per_pod.cpu <= 0.0 && per_pod.memory <= 0.0) || rooms.is_empty() {
        return None;
    }
    let fit: u64 = rooms
        .iter()
        .map(|r| r.fits(per_pod))
        .fold(0u64, u64::saturating_add);
    if fit >= extra {
        return None;
    }
    let free = rooms.iter().fold(Resources::default(), |acc, r| {
        let f = r.free();
        Resources {
            cpu: acc.cpu + f.cpu.max(0.0),
            memory: acc.memory + f.memory.max(0.0),
        }
    });
    Some(format!(
        "the cluster has room for {fit} more pod(s) of this size but {extra} are needed: each requests {} CPU and {} memory, free is {} CPU and {} memory (allocatable minus requests of running pods); the extra pods would stay Pending",
        format_cpu(per_pod.cpu),
        format_memory(per_pod.memory),
        format_cpu(free.cpu),
        format_memory(free.memory),
    ))
}

/// `0.5` → `500m`, `2` → `2`.
pub fn format_cpu(cores: f64) -> String {
    let millis = (cores * 1000.0).round() as i64;
    if millis % 1000 == 0 {
        format!("{}", millis / 1000)
    } else {
        format!("{millis}m")
    }
}

/// Bytes → the largest binary unit that keeps one decimal (`128Mi`, `1.5Gi`).
pub fn format_memory(bytes: f64) -> String {
    const UNITS: [(&str, f64); 4] = [
        ("Ti", 1024.0 * 1024.0 * 1024.0 * 1024.0),
        ("Gi", 1024.0 * 1024.0 * 1024.0),
        ("Mi", 1024.0 * 1024.0),
        ("Ki", 1024.0),
    ];
    for (unit, size) in UNITS {
        if bytes >= size {
            let v = bytes / size;
            return if (v - v.round()).abs() < 0.05 {
                format!("{}{unit}", v.round() as i64)
            } else {
                format!("{v:.1}{unit}")
            };
        }
    }
    format!("{}", bytes.round() as i64)
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::api::core::v1::{
        Container, NodeSpec, NodeStatus, PodStatus, ResourceRequirements,
    };
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() <= b.abs() * 1e-12 + 1e-12
    }

    #[test]
    fn parses_cpu_forms() {
        assert!(close(parse_quantity("500m").unwrap(), 0.5));
        assert!(close(parse_quantity("2").unwrap(), 2.0));
        assert!(close(parse_quantity("0.25").unwrap(), 0.25));
        assert!(close(parse_quantity("100u").unwrap(), 0.0001));
    }

    #[test]
    fn parses_memory_forms() {
        assert!(close(parse_quantity("128Mi").unwrap(), 134_217_728.0));
        assert!(close(parse_quantity("1Gi").unwrap(), 1_073_741_824.0));
        assert!(close(parse_quantity("1e9").unwrap(), 1e9));
        assert!(close(parse_quantity("1E3").unwrap(), 1000.0));
        assert!(close(parse_quantity("1G").unwrap(), 1e9));
        assert!(close(
            parse_quantity("3920Mi").unwrap(),
            3920.0 * 1024.0 * 1024.0
        ));
        assert!(close(parse_quantity("2E").unwrap(), 2e18));
        assert!(close(
            parse_quantity("1.5Gi").unwrap(),
            1.5 * 1_073_741_824.0
        ));
    }

    #[derive(serde::Deserialize)]
    struct QuantityVector {
        text: String,
        value: Option<f64>,
    }

    #[derive(serde::Deserialize)]
    struct PodVector {
        name: String,
        pod: PodSpec,
        cpu: f64,
        memory: f64,
    }

    fn near(a: f64, b: f64) -> bool {
        (a - b).abs() <= 1e-9 * b.abs().max(1e-9)
    }

    #[test]
    fn quantity_vectors_parse_like_kubernetes() {
        let vectors: Vec<QuantityVector> =
            serde_json::from_str(include_str!("../../tests/vectors/quantities.json")).unwrap();
        assert!(vectors.len() > 50);
        let wrong: Vec<String> = vectors
            .iter()
            .filter(|v| {
                let got = parse_quantity(&v.text);
                match (got, v.value) {
                    (Some(g), Some(w)) => !near(g, w),
                    (None, None) => false,
                    _ => true,
                }
            })
            .map(|v| {
                format!(
                    "{:?}: got {:?}, want {:?}",
                    v.text,
                    parse_quantity(&v.text),
                    v.value
                )
            })
            .collect();
        assert!(wrong.is_empty(), "{wrong:#?}");
    }

    #[test]
    fn pod_request_vectors_follow_the_scheduler() {
        let vectors: Vec<PodVector> =
            serde_json::from_str(include_str!("../../tests/vectors/pod-requests.json")).unwrap();
        assert!(vectors.len() > 10);
        for v in &vectors {
            let got = pod_requests(&v.pod);
            for (what, got, want) in [("cpu", got.cpu, v.cpu), ("memory", got.memory, v.memory)] {
                assert!(near(got, want), "{}: {what} {got} want {want}", v.name);
            }
        }
    }

    fn container(cpu: &str, memory: &str) -> Container {
        let mut requests = BTreeMap::new();
        requests.insert("cpu".to_string(), Quantity(cpu.into()));
        requests.insert("memory".to_string(), Quantity(memory.into()));
        Container {
            name: "c".into(),
            resources: Some(ResourceRequirements {
                requests: Some(requests),
                ..Default::default()
            }),
            ..Default::default()
        }
    }

    fn pod(node: &str, phase: &str, cpu: &str, memory: &str) -> Pod {
        Pod {
            metadata: ObjectMeta::default(),
            spec: Some(PodSpec {
                node_name: Some(node.into()),
                containers: vec![container(cpu, memory)],
                ..Default::default()
            }),
            status: Some(PodStatus {
                phase: Some(phase.into()),
                ..Default::default()
            }),
        }
    }

    fn node(name: &str, cpu: &str, memory: &str, cordoned: bool) -> Node {
        let mut alloc = BTreeMap::new();
        alloc.insert("cpu".to_string(), Quantity(cpu.into()));
        alloc.insert("memory".to_string(), Quantity(memory.into()));
        Node {
            metadata: ObjectMeta {
                name: Some(name.into()),
                ..Default::default()
            },
            spec: Some(NodeSpec {
                unschedulable: Some(cordoned),
                ..Default::default()
            }),
            status: Some(NodeStatus {
                allocatable: Some(alloc),
                ..Default::default()
            }),
        }
    }

    #[test]
    fn pod_requests_sum_containers_and_respect_init_maximum() {
        let spec = PodSpec {
            containers: vec![container("250m", "64Mi"), container("250m", "64Mi")],
            init_containers: Some(vec![container("1", "16Mi")]),
            ..Default::default()
        };
        let r = pod_requests(&spec);
        assert!(close(r.cpu, 1.0));
        assert!(close(r.memory, 128.0 * 1024.0 * 1024.0));
    }

    #[test]
    fn node_room_subtracts_running_pods_only() {
        let nodes = [
            node("minikube", "2", "4Gi", false),
            node("cordoned", "8", "8Gi", true),
        ];
        let pods = [
            pod("minikube", "Running", "500m", "1Gi"),
            pod("minikube", "Succeeded", "1", "1Gi"),
            pod("other", "Running", "1", "1Gi"),
        ];
        let rooms = node_rooms(&nodes, &pods);
        assert_eq!(rooms.len(), 1);
        assert!(close(rooms[0].free().cpu, 1.5));
        assert!(close(rooms[0].free().memory, 3.0 * 1_073_741_824.0));
    }

    #[test]
    fn fits_counts_the_tighter_resource() {
        let rooms = node_rooms(&[node("n", "1500m", "1Gi", false)], &[]);
        let per_pod = Resources {
            cpu: 0.5,
            memory: 512.0 * 1024.0 * 1024.0,
        };
        assert_eq!(rooms[0].fits(per_pod), 2);
        let per_pod = Resources {
            cpu: 0.5,
            memory: 1.0,
        };
        assert_eq!(rooms[0].fits(per_pod), 3);
    }

    #[test]
    fn shortfall_warns_only_when_pods_do_not_fit() {
        let rooms = node_rooms(
            &[node("n", "2", "3920Mi", false)],
            &[pod("n", "Running", "1", "1Gi")],
        );
        let per_pod = Resources {
            cpu: 0.5,
            memory: 256.0 * 1024.0 * 1024.0,
        };
        assert_eq!(capacity_shortfall(&rooms, per_pod, 2), None);
        let warning = capacity_shortfall(&rooms, per_pod, 3).unwrap();
        assert!(warning.contains("room for 2 more"), "{warning}");
        assert!(warning.contains("500m CPU"), "{warning}");
        assert!(warning.contains("256Mi memory"), "{warning}");
        // Scale down and request-less pods never warn.
        assert_eq!(capacity_shortfall(&rooms, per_pod, 0), None);
        assert_eq!(capacity_shortfall(&rooms, Resources::default(), 100), None);
    }

    #[test]
    fn formats_quantities_for_people() {
        assert_eq!(format_cpu(0.5), "500m");
        assert_eq!(format_cpu(2.0), "2");
        assert_eq!(format_memory(134_217_728.0), "128Mi");
        assert_eq!(format_memory(1.5 * 1_073_741_824.0), "1.5Gi");
    }

    #[test]
    fn extreme_exponents_parse_without_overflowing() {
        // Found while writing the property below (it covers any i64 exponent): `scale` overflowed i64 and panicked.
        for text in [
            "1e9223372036854775807",
            "1.5e9223372036854775807",
            "1e-9223372036854775808",
            "1.5E-9223372036854775808",
            "-.1e-9223372036854775807",
        ] {
            let v = parse_quantity(text);
            assert!(v.is_some_and(|v| !v.is_nan()), "{text:?} -> {v:?}");
        }
        assert_eq!(parse_quantity("1e9223372036854775807"), Some(f64::INFINITY));
        assert!(parse_quantity("1e-9223372036854775808").is_some_and(|v| v >= 0.0));
    }

    mod props {
        use super::*;
        use proptest::prelude::*;

        const SUFFIXES: [&str; 16] = [
            "", "n", "u", "m", "k", "M", "G", "T", "P", "E", "Ki", "Mi", "Gi", "Ti", "Pi", "Ei",
        ];

        /// Quantities as the grammar allows them, with any suffix or any i64 exponent.
        fn grammatical() -> impl Strategy<Value = String> {
            let suffix = prop_oneof![
                proptest::sample::select(&SUFFIXES[..]).prop_map(str::to_owned),
                (
                    any::<bool>(),
                    // Random i64s almost never land at the ends, where overflow lives.
                    prop_oneof![
                        any::<i64>(),
                        i64::MAX - 40..=i64::MAX,
                        i64::MIN..=i64::MIN + 40
                    ]
                )
                    .prop_map(|(upper, e)| { format!("{}{e}", if upper { 'E' } else { 'e' }) }),
            ];
            (
                "[+-]?",
                "[0-9]{1,30}",
                proptest::option::of("[0-9]{0,30}"),
                suffix,
            )
                .prop_map(|(sign, int, frac, suffix)| match frac {
                    Some(frac) => format!("{sign}{int}.{frac}{suffix}"),
                    None => format!("{sign}{int}{suffix}"),
                })
        }

        proptest! {
            #[test]
            fn never_panics_on_any_text(text in any::<String>()) {
                let _ = parse_quantity(&text);
            }

            #[test]
            fn never_panics_on_quantity_like_text(text in "[-+0-9.eEkKMGTPinum]{0,40}") {
                let _ = parse_quantity(&text);
            }

            #[test]
            fn grammatical_quantities_parse_to_a_number(text in grammatical()) {
                let v = parse_quantity(&text);
                prop_assert!(v.is_some_and(|v| !v.is_nan()), "{text:?} -> {v:?}");
            }

            #[test]
            fn whole_units_round_trip(n in 0u64..1_000_000_000, i in 0usize..SUFFIXES.len()) {
                let suffix = SUFFIXES[i];
                let unit = match suffix {
                    "Ki" | "Mi" | "Gi" | "Ti" | "Pi" | "Ei" => {
                        1024f64.powi(i as i32 - 9)
                    }
                    _ => 10f64.powi([0, -9, -6, -3, 3, 6, 9, 12, 15, 18][i]),
                };
                let want = (n as f64 * unit).min(if i >= 10 { i64::MAX as f64 } else { f64::MAX });
                let got = parse_quantity(&format!("{n}{suffix}")).unwrap_or(f64::NAN);
                prop_assert!(close(got, want), "{n}{suffix}: {got} != {want}");
            }

            #[test]
            fn formatted_cpu_reads_back(millis in 0i64..10_000_000) {
                let cores = millis as f64 / 1000.0;
                let text = format_cpu(cores);
                prop_assert_eq!(parse_quantity(&text).map(|v| (v * 1000.0).round() as i64), Some(millis));
            }
        }
    }
}
