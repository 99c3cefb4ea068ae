//! The Deployment controller's arithmetic, pure: the pod-template hash, maxSurge and
//! maxUnavailable resolved against the replica count, and one rolling-update step for the new
//! and the old ReplicaSets.

use serde_json::Value;

use super::HASH_LABEL;

/// Canonical JSON (sorted keys) for hashing.
fn canonical(v: &Value, out: &mut String) {
    match v {
        Value::Object(m) => {
            let mut keys: Vec<&String> = m.keys().collect();
            keys.sort();
            out.push('{');
            for (i, k) in keys.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&Value::String((*k).clone()).to_string());
                out.push(':');
                canonical(&m[*k], out);
            }
            out.push('}');
        }
        Value::Array(a) => {
            out.push('[');
            for (i, x) in a.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                canonical(x, out);
            }
            out.push(']');
        }
        other => out.push_str(&other.to_string()),
    }
}

/// The pod-template-hash of a template: FNV-1a 32 of its canonical JSON, written with
/// Kubernetes' "safe" alphabet like `rand.SafeEncodeString(fmt.Sprint(hash))`.
pub fn template_hash(template: &Value) -> String {
    let mut t = template.clone();
    if let Some(labels) = t
        .pointer_mut("/metadata/labels")
        .and_then(Value::as_object_mut)
    {
        labels.remove(HASH_LABEL);
    }
    let mut s = String::new();
    canonical(&t, &mut s);
    let mut h: u32 = 0x811c_9dc5;
    for b in s.bytes() {
        h ^= b as u32;
        h = h.wrapping_mul(0x0100_0193);
    }
    const ALPHABET: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";
    h.to_string()
        .bytes()
        .map(|b| ALPHABET[b as usize % ALPHABET.len()] as char)
        .collect()
}

/// An int-or-percent against `total`; percentages round up for surge, down otherwise.
pub fn int_or_percent(v: Option<&Value>, total: i64, round_up: bool, default_pct: i64) -> i64 {
    let pct = |p: i64| {
        if round_up {
            (p * total + 99) / 100
        } else {
            p * total / 100
        }
    };
    match v {
        None | Some(Value::Null) => pct(default_pct),
        Some(Value::Number(n)) => n.as_i64().unwrap_or(0),
        Some(Value::String(s)) => match s.strip_suffix('%') {
            Some(p) => p.trim().parse::<i64>().map(pct).unwrap_or(0),
            None => s.parse().unwrap_or(0),
        },
        _ => 0,
    }
}

/// (maxSurge, maxUnavailable) resolved for `desired` replicas; both zero means one
/// unavailable.
pub fn fenceposts(surge: Option<&Value>, unavailable: Option<&Value>, desired: i64) -> (i64, i64) {
    let s = int_or_percent(surge, desired, true, 25);
    let mut u = int_or_percent(unavailable, desired, false, 25);
    if s == 0 && u == 0 {
        u = 1;
    }
    (s, u)
}

/// Pure rolling-update step for the new ReplicaSet: the replicas it should have.
pub fn new_rs_target(desired: i64, surge: i64, new_replicas: i64, all_replicas: i64) -> i64 {
    if new_replicas >= desired {
        return desired;
    }
    let max_total = desired + surge;
    if all_replicas >= max_total {
        return new_replicas;
    }
    new_replicas + (max_total - all_replicas).min(desired - new_replicas)
}

/// Pure rolling-update step for old ReplicaSets (oldest first): (spec replicas, available)
/// in, new spec replicas out.
pub fn old_rs_targets(
    desired: i64,
    unavailable: i64,
    new: (i64, i64),
    olds: &[(i64, i64)],
) -> Vec<i64> {
    let mut out: Vec<i64> = olds.iter().map(|o| o.0).collect();
    let old_pods: i64 = out.iter().sum();
    if old_pods == 0 {
        return out;
    }
    let all_pods = old_pods + new.0;
    let min_available = desired - unavailable;
    let new_unavailable = new.0 - new.1;
    let max_scaled_down = all_pods - min_available - new_unavailable;
    if max_scaled_down <= 0 {
        return out;
    }
    // Unhealthy old replicas go first.
    let mut total = 0;
    for (i, (replicas, available)) in olds.iter().enumerate() {
        if total >= max_scaled_down {
            break;
        }
        if *replicas == 0 || replicas == available {
            continue;
        }
        let d = (max_scaled_down - total).min(replicas - available);
        out[i] -= d;
        total += d;
    }
    // Then healthy ones, as far as availability allows.
    let available: i64 = new.1 + olds.iter().map(|o| o.1).sum::<i64>();
    if available <= min_available {
        return out;
    }
    let budget = available - min_available;
    let mut scaled = 0;
    for r in out.iter_mut() {
        if scaled >= budget {
            break;
        }
        if *r == 0 {
            continue;
        }
        let d = (*r).min(budget - scaled);
        *r -= d;
        scaled += d;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn percentages_round_surge_up_and_unavailable_down() {
        assert_eq!(fenceposts(None, None, 1), (1, 0));
        assert_eq!(fenceposts(None, None, 4), (1, 1));
        assert_eq!(fenceposts(None, None, 10), (3, 2));
        assert_eq!(fenceposts(Some(&json!("50%")), Some(&json!(0)), 3), (2, 0));
    }

    #[test]
    fn zero_surge_and_zero_unavailable_allows_one_unavailable() {
        assert_eq!(fenceposts(Some(&json!(0)), Some(&json!("0%")), 3), (0, 1));
    }

    #[test]
    fn new_replica_set_grows_within_surge() {
        // 3 desired, surge 1: old has 3, the new one may have 1.
        assert_eq!(new_rs_target(3, 1, 0, 3), 1);
        // Already at max total: no growth.
        assert_eq!(new_rs_target(3, 1, 1, 4), 1);
        // Old scaled down to 2: the new one grows to 2.
        assert_eq!(new_rs_target(3, 1, 1, 3), 2);
        // Scale down of the new one to desired.
        assert_eq!(new_rs_target(2, 1, 5, 5), 2);
    }

    #[test]
    fn old_replica_sets_shrink_as_availability_allows() {
        // desired 3, unavailable 0: new has 1 available → one old pod can go.
        assert_eq!(old_rs_targets(3, 0, (1, 1), &[(3, 3)]), vec![2]);
        // New pod not yet available: nothing goes.
        assert_eq!(old_rs_targets(3, 0, (1, 0), &[(3, 3)]), vec![3]);
        // Unhealthy old pods go first.
        assert_eq!(old_rs_targets(2, 0, (1, 1), &[(2, 1)]), vec![1]);
        // Nothing can go while the only new pod is unavailable and maxUnavailable is 0.
        assert_eq!(old_rs_targets(1, 0, (1, 0), &[(1, 0)]), vec![1]);
    }

    #[test]
    fn template_hash_is_stable_and_ignores_key_order() {
        let a = json!({"metadata": {"labels": {"a": "1", "b": "2"}}, "spec": {"containers": [{"name": "c", "image": "i"}]}});
        let b = json!({"spec": {"containers": [{"image": "i", "name": "c"}]}, "metadata": {"labels": {"b": "2", "a": "1"}}});
        assert_eq!(template_hash(&a), template_hash(&b));
        let c = json!({"metadata": {"labels": {"a": "1", "b": "2"}}, "spec": {"containers": [{"name": "c", "image": "j"}]}});
        assert_ne!(template_hash(&a), template_hash(&c));
        assert!(
            template_hash(&a)
                .chars()
                .all(|ch| "bcdfghjklmnpqrstvwxz2456789".contains(ch))
        );
    }
}
