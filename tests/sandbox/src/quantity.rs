//! Kubernetes quantities (`500m`, `2`, `128Mi`, `1e9`) and a pod's effective resource
//! requests, for scheduling by capacity and for admission.
//!
//! This is deliberately an independent implementation of what the core crate computes in
//! `todo_kube::scale::quantity`: the sandbox plays the scheduler, and sharing the plugin's
//! code would make it agree with the plugin's bugs. Both are tested against the same vectors,
//! `tests/vectors/quantities.json` and `tests/vectors/pod-requests.json` (values checked
//! against apimachinery's `resource.ParseQuantity`; see tests/vectors/README.md).

use serde_json::Value;

/// The value of a quantity in base units (cores for CPU, bytes for memory), as
/// `resource.ParseQuantity` reads it: an optional sign, a decimal number (either part may be
/// empty), and a suffix that is decimal SI (`n u m k M G T P E`), binary SI (`Ki`..`Ei`) or
/// an exponent (`e3`, `E-2`). Non-zero values round up, away from zero, to a whole nano
/// unit; binary-suffixed magnitudes are capped at the largest int64. None for text Kubernetes
/// rejects (including surrounding whitespace) and for values beyond f64's range.
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
    let (int, rest) = rest.split_at(int_len);
    let (frac, suffix) = match rest.strip_prefix('.') {
        Some(after) => after.split_at(after.bytes().take_while(u8::is_ascii_digit).count()),
        None => ("", rest),
    };
    let magnitude = match Suffix::parse(suffix)? {
        Suffix::Decimal(exp) => decimal(int, frac, exp)?,
        Suffix::Binary(shift) => {
            let v = decimal(int, frac, 0)? * 2f64.powi(shift);
            v.min(i64::MAX as f64)
        }
    };
    let magnitude = round_up_to_nano(magnitude);
    Some(if negative { -magnitude } else { magnitude })
}

enum Suffix {
    /// × 10^exp.
    Decimal(i32),
    /// × 2^shift.
    Binary(i32),
}

impl Suffix {
    fn parse(s: &str) -> Option<Suffix> {
        const DECIMAL: [(&str, i32); 10] = [
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
        const BINARY: [(&str, i32); 6] = [
            ("Ki", 10),
            ("Mi", 20),
            ("Gi", 30),
            ("Ti", 40),
            ("Pi", 50),
            ("Ei", 60),
        ];
        if let Some((_, e)) = DECIMAL.iter().find(|(k, _)| *k == s) {
            return Some(Suffix::Decimal(*e));
        }
        if let Some((_, e)) = BINARY.iter().find(|(k, _)| *k == s) {
            return Some(Suffix::Binary(*e));
        }
        let exp = s.strip_prefix(['e', 'E'])?;
        let digits = exp.strip_prefix(['+', '-']).unwrap_or(exp);
        if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        // An exponent that fits no int64 is an error in Kubernetes; one that fits int64 but
        // not f64's range gives a value we cannot hold either.
        let exp: i64 = exp.parse().ok()?;
        i32::try_from(exp).ok().map(Suffix::Decimal)
    }
}

/// `int.frac × 10^exp`, correctly rounded (empty parts are zero); None when infinite.
fn decimal(int: &str, frac: &str, exp: i32) -> Option<f64> {
    let int = if int.is_empty() { "0" } else { int };
    let frac = if frac.is_empty() { "0" } else { frac };
    let v: f64 = format!("{int}.{frac}e{exp}").parse().ok()?;
    v.is_finite().then_some(v)
}

/// Kubernetes keeps at most nano precision and rounds a finer non-zero value up.
fn round_up_to_nano(v: f64) -> f64 {
    let nanos = v * 1e9;
    if v == 0.0 || nanos >= 1e15 {
        return v;
    }
    let nearest = nanos.round();
    // Float noise from the decimal conversion is not a finer digit.
    if (nanos - nearest).abs() <= nearest.max(1.0) * 1e-9 {
        v
    } else {
        nanos.ceil() / 1e9
    }
}

/// A quantity as an API object holds it in JSON: a string (surrounding whitespace trimmed,
/// as the API server's decoder does) or a number.
pub fn json_quantity(v: &Value) -> Option<f64> {
    match v {
        Value::String(s) => parse_quantity(s.trim()),
        Value::Number(n) => parse_quantity(&n.to_string()),
        _ => None,
    }
}

/// A CPU quantity in millicores, rounded up as `Quantity.MilliValue` does.
pub fn milli_cpu(v: f64) -> i64 {
    ceil_tolerant(v * 1000.0)
}

/// A memory (or count) quantity in whole units, rounded up as `Quantity.Value` does.
pub fn whole(v: f64) -> i64 {
    ceil_tolerant(v)
}

fn ceil_tolerant(v: f64) -> i64 {
    let nearest = v.round();
    let v = if (v - nearest).abs() <= nearest.abs().max(1.0) * 1e-12 {
        nearest
    } else {
        v.ceil()
    };
    // `as` saturates at the i64 range, which is what a capacity check wants.
    v as i64
}

/// Resource requests: milli-CPU and memory bytes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Requests {
    /// CPU in millicores.
    pub milli_cpu: i64,
    /// Memory in bytes.
    pub memory: i64,
}

impl Requests {
    /// Both summed (saturating).
    pub fn plus(self, other: Requests) -> Requests {
        Requests {
            milli_cpu: self.milli_cpu.saturating_add(other.milli_cpu),
            memory: self.memory.saturating_add(other.memory),
        }
    }

    /// The larger of each.
    pub fn max(self, other: Requests) -> Requests {
        Requests {
            milli_cpu: self.milli_cpu.max(other.milli_cpu),
            memory: self.memory.max(other.memory),
        }
    }

    /// CPU and memory of a resource list (`{"cpu": "500m", "memory": "1Gi"}`); other
    /// resources, and values that do not parse, count as zero.
    pub fn of_list(list: Option<&Value>) -> Requests {
        let get = |res: &str| list.and_then(|l| l.get(res)).and_then(json_quantity);
        Requests {
            milli_cpu: get("cpu").map_or(0, milli_cpu),
            memory: get("memory").map_or(0, whole),
        }
    }
}

/// A container's requests; a resource with a limit but no request requests its limit (the
/// API server defaults pods' requests so).
pub fn container_requests(c: &Value) -> Requests {
    let requests = c.pointer("/resources/requests");
    let limits = c.pointer("/resources/limits");
    let pick = |res: &str| {
        requests
            .and_then(|r| r.get(res))
            .or_else(|| limits.and_then(|l| l.get(res)))
            .and_then(json_quantity)
    };
    Requests {
        milli_cpu: pick("cpu").map_or(0, milli_cpu),
        memory: pick("memory").map_or(0, whole),
    }
}

/// A pod's effective requests from its PodSpec, by the scheduler's rule
/// (`resource.PodRequests`): the app containers summed, plus the sidecars (init containers
/// with `restartPolicy: Always`); at least what each init container needs while it runs
/// (itself plus the sidecars started before it); plus the pod overhead.
pub fn pod_requests(spec: &Value) -> Requests {
    let list = |field: &str| {
        spec.get(field)
            .and_then(Value::as_array)
            .map(Vec::as_slice)
            .unwrap_or(&[])
    };
    let mut total = list("containers")
        .iter()
        .map(container_requests)
        .fold(Requests::default(), Requests::plus);
    let mut sidecars = Requests::default();
    let mut init_peak = Requests::default();
    for c in list("initContainers") {
        let own = container_requests(c);
        let running = if c.get("restartPolicy").and_then(Value::as_str) == Some("Always") {
            total = total.plus(own);
            sidecars = sidecars.plus(own);
            sidecars
        } else {
            own.plus(sidecars)
        };
        init_peak = init_peak.max(running);
    }
    total
        .max(init_peak)
        .plus(Requests::of_list(spec.get("overhead")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;
    use serde_json::json;

    #[derive(Deserialize)]
    struct QuantityVector {
        text: String,
        value: Option<f64>,
    }

    #[derive(Deserialize)]
    struct PodVector {
        name: String,
        pod: Value,
        cpu: f64,
        memory: f64,
    }

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() <= 1e-9 * b.abs().max(1e-9)
    }

    #[test]
    fn quantity_vectors_parse_like_kubernetes() {
        let vectors: Vec<QuantityVector> =
            serde_json::from_str(include_str!("../../vectors/quantities.json")).unwrap();
        assert!(vectors.len() > 50);
        for v in &vectors {
            let got = parse_quantity(&v.text);
            let ok = match (got, v.value) {
                (Some(g), Some(w)) => close(g, w),
                (None, None) => true,
                _ => false,
            };
            assert!(ok, "{:?}: got {got:?}, want {:?}", v.text, v.value);
        }
    }

    #[test]
    fn pod_request_vectors_follow_the_scheduler() {
        let vectors: Vec<PodVector> =
            serde_json::from_str(include_str!("../../vectors/pod-requests.json")).unwrap();
        assert!(vectors.len() > 10);
        for v in &vectors {
            let got = pod_requests(&v.pod);
            assert_eq!(got.milli_cpu, milli_cpu(v.cpu), "{}: cpu", v.name);
            assert_eq!(got.memory, whole(v.memory), "{}: memory", v.name);
        }
    }

    #[test]
    fn cpu_and_memory_round_up_to_whole_units() {
        assert_eq!(milli_cpu(0.1), 100);
        assert_eq!(milli_cpu(0.0001), 1);
        assert_eq!(milli_cpu(1.5), 1500);
        assert_eq!(whole(0.5), 1);
        assert_eq!(whole(4110417920.0), 4110417920);
        assert_eq!(whole(1e30), i64::MAX);
    }

    #[test]
    fn json_numbers_and_padded_strings_are_quantities() {
        assert_eq!(json_quantity(&json!(1)), Some(1.0));
        assert_eq!(json_quantity(&json!(0.5)), Some(0.5));
        assert_eq!(json_quantity(&json!(" 250m ")), Some(0.25));
        assert_eq!(json_quantity(&json!(true)), None);
        let numeric = json!({"resources": {"requests": {"cpu": 1}}});
        assert_eq!(container_requests(&numeric).milli_cpu, 1000);
    }
}
