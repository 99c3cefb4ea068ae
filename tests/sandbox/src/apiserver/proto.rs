//! Decoding of the Kubernetes protobuf wire format for the types that client-go's typed
//! clients send as `application/vnd.kubernetes.protobuf`: Helm's release storage (Secrets)
//! and kubectl's generators (`create deployment|secret|configmap|namespace|serviceaccount`,
//! `run`, `expose`, `auth can-i`). Each type is a table of the fields those clients set
//! (field numbers from Kubernetes' generated.proto); other fields are skipped. Only request
//! bodies are decoded; responses are always JSON, which every client accepts.

use base64::Engine;
use serde_json::{Map, Value, json};

/// The 4-byte prefix of every Kubernetes protobuf message.
const MAGIC: &[u8] = b"k8s\0";

enum Field<'a> {
    Varint(u64),
    Bytes(&'a [u8]),
    Fixed,
}

fn varint(buf: &[u8], pos: &mut usize) -> Result<u64, String> {
    let mut out = 0u64;
    for shift in (0..64).step_by(7) {
        let b = *buf.get(*pos).ok_or("truncated varint")?;
        *pos += 1;
        out |= u64::from(b & 0x7f) << shift;
        if b & 0x80 == 0 {
            return Ok(out);
        }
    }
    Err("varint too long".into())
}

fn fields(buf: &[u8]) -> Result<Vec<(u64, Field<'_>)>, String> {
    let mut pos = 0;
    let mut out = Vec::new();
    while pos < buf.len() {
        let key = varint(buf, &mut pos)?;
        let (num, wire) = (key >> 3, key & 7);
        let f = match wire {
            0 => Field::Varint(varint(buf, &mut pos)?),
            1 => {
                pos += 8;
                Field::Fixed
            }
            2 => {
                let len = usize::try_from(varint(buf, &mut pos)?).map_err(|_| "length overflow")?;
                let end = pos
                    .checked_add(len)
                    .filter(|e| *e <= buf.len())
                    .ok_or("truncated field")?;
                let b = &buf[pos..end];
                pos = end;
                Field::Bytes(b)
            }
            5 => {
                pos += 4;
                Field::Fixed
            }
            w => return Err(format!("unsupported wire type {w}")),
        };
        out.push((num, f));
    }
    Ok(out)
}

/// How a field decodes.
#[derive(Clone, Copy)]
enum Kind {
    Str,
    Int,
    Bool,
    Msg(&'static [F]),
    Strs,
    Msgs(&'static [F]),
    /// map<string, string>
    StrMap,
    /// map<string, bytes>, shown base64 as in JSON
    BytesMap,
    IntOrStr,
}

/// A field: number, JSON name, kind.
struct F(u64, &'static str, Kind);

use Kind::*;

const OWNER_REF: &[F] = &[
    F(1, "kind", Str),
    F(3, "name", Str),
    F(4, "uid", Str),
    F(5, "apiVersion", Str),
    F(6, "controller", Bool),
    F(7, "blockOwnerDeletion", Bool),
];
const OBJECT_META: &[F] = &[
    F(1, "name", Str),
    F(2, "generateName", Str),
    F(3, "namespace", Str),
    F(5, "uid", Str),
    F(6, "resourceVersion", Str),
    F(7, "generation", Int),
    F(11, "labels", StrMap),
    F(12, "annotations", StrMap),
    F(13, "ownerReferences", Msgs(OWNER_REF)),
    F(14, "finalizers", Strs),
];
const TYPE_META: &[F] = &[F(1, "apiVersion", Str), F(2, "kind", Str)];
const UNKNOWN: &[F] = &[F(1, "typeMeta", Msg(TYPE_META))];
const SECRET: &[F] = &[
    F(1, "metadata", Msg(OBJECT_META)),
    F(2, "data", BytesMap),
    F(3, "type", Str),
    F(4, "stringData", StrMap),
    F(5, "immutable", Bool),
];
const CONFIG_MAP: &[F] = &[
    F(1, "metadata", Msg(OBJECT_META)),
    F(2, "data", StrMap),
    F(3, "binaryData", BytesMap),
    F(4, "immutable", Bool),
];
const NAMESPACE: &[F] = &[F(1, "metadata", Msg(OBJECT_META))];
const SERVICE_ACCOUNT: &[F] = &[
    F(1, "metadata", Msg(OBJECT_META)),
    F(4, "automountServiceAccountToken", Bool),
];
const RESOURCE_ATTRIBUTES: &[F] = &[
    F(1, "namespace", Str),
    F(2, "verb", Str),
    F(3, "group", Str),
    F(4, "version", Str),
    F(5, "resource", Str),
    F(6, "subresource", Str),
    F(7, "name", Str),
];
const NON_RESOURCE_ATTRIBUTES: &[F] = &[F(1, "path", Str), F(2, "verb", Str)];
const SSAR_SPEC: &[F] = &[
    F(1, "resourceAttributes", Msg(RESOURCE_ATTRIBUTES)),
    F(2, "nonResourceAttributes", Msg(NON_RESOURCE_ATTRIBUTES)),
];
const SSAR: &[F] = &[
    F(1, "metadata", Msg(OBJECT_META)),
    F(2, "spec", Msg(SSAR_SPEC)),
];
const SELECTOR_REQUIREMENT: &[F] = &[
    F(1, "key", Str),
    F(2, "operator", Str),
    F(3, "values", Strs),
];
const LABEL_SELECTOR: &[F] = &[
    F(1, "matchLabels", StrMap),
    F(2, "matchExpressions", Msgs(SELECTOR_REQUIREMENT)),
];
const CONTAINER_PORT: &[F] = &[
    F(1, "name", Str),
    F(3, "containerPort", Int),
    F(4, "protocol", Str),
];
const ENV_VAR: &[F] = &[F(1, "name", Str), F(2, "value", Str)];
const CONTAINER: &[F] = &[
    F(1, "name", Str),
    F(2, "image", Str),
    F(3, "command", Strs),
    F(4, "args", Strs),
    F(5, "workingDir", Str),
    F(6, "ports", Msgs(CONTAINER_PORT)),
    F(7, "env", Msgs(ENV_VAR)),
    F(14, "imagePullPolicy", Str),
];
const POD_SPEC: &[F] = &[
    F(2, "containers", Msgs(CONTAINER)),
    F(3, "restartPolicy", Str),
    F(4, "terminationGracePeriodSeconds", Int),
    F(6, "dnsPolicy", Str),
    F(8, "serviceAccountName", Str),
    F(10, "nodeName", Str),
];
const POD: &[F] = &[
    F(1, "metadata", Msg(OBJECT_META)),
    F(2, "spec", Msg(POD_SPEC)),
];
const POD_TEMPLATE: &[F] = &[
    F(1, "metadata", Msg(OBJECT_META)),
    F(2, "spec", Msg(POD_SPEC)),
];
const ROLLING_UPDATE: &[F] = &[F(1, "maxUnavailable", IntOrStr), F(2, "maxSurge", IntOrStr)];
const STRATEGY: &[F] = &[
    F(1, "type", Str),
    F(2, "rollingUpdate", Msg(ROLLING_UPDATE)),
];
const DEPLOYMENT_SPEC: &[F] = &[
    F(1, "replicas", Int),
    F(2, "selector", Msg(LABEL_SELECTOR)),
    F(3, "template", Msg(POD_TEMPLATE)),
    F(4, "strategy", Msg(STRATEGY)),
    F(5, "minReadySeconds", Int),
    F(6, "revisionHistoryLimit", Int),
    F(7, "paused", Bool),
    F(9, "progressDeadlineSeconds", Int),
];
const DEPLOYMENT: &[F] = &[
    F(1, "metadata", Msg(OBJECT_META)),
    F(2, "spec", Msg(DEPLOYMENT_SPEC)),
];
const SERVICE_PORT: &[F] = &[
    F(1, "name", Str),
    F(2, "protocol", Str),
    F(3, "port", Int),
    F(4, "targetPort", IntOrStr),
    F(5, "nodePort", Int),
];
const SERVICE_SPEC: &[F] = &[
    F(1, "ports", Msgs(SERVICE_PORT)),
    F(2, "selector", StrMap),
    F(3, "clusterIP", Str),
    F(4, "type", Str),
];
const SERVICE: &[F] = &[
    F(1, "metadata", Msg(OBJECT_META)),
    F(2, "spec", Msg(SERVICE_SPEC)),
];

/// Types decoded from protobuf: kind, apiVersion, fields.
const TYPES: &[(&str, &str, &[F])] = &[
    ("Secret", "v1", SECRET),
    ("ConfigMap", "v1", CONFIG_MAP),
    ("Namespace", "v1", NAMESPACE),
    ("ServiceAccount", "v1", SERVICE_ACCOUNT),
    ("Pod", "v1", POD),
    ("Service", "v1", SERVICE),
    ("Deployment", "apps/v1", DEPLOYMENT),
    ("SelfSubjectAccessReview", "authorization.k8s.io/v1", SSAR),
];

fn text(b: &[u8]) -> Value {
    Value::String(String::from_utf8_lossy(b).into_owned())
}

fn map_entry(b: &[u8]) -> Result<(String, &[u8]), String> {
    let mut key = String::new();
    let mut value: &[u8] = &[];
    for (n, f) in fields(b)? {
        match (n, f) {
            (1, Field::Bytes(x)) => key = String::from_utf8_lossy(x).into_owned(),
            (2, Field::Bytes(x)) => value = x,
            _ => {}
        }
    }
    Ok((key, value))
}

fn int_or_string(b: &[u8]) -> Result<Value, String> {
    let v = message(
        b,
        &[F(1, "type", Int), F(2, "intVal", Int), F(3, "strVal", Str)],
    )?;
    Ok(if v["type"] == 1 {
        v.get("strVal").cloned().unwrap_or(json!(""))
    } else {
        v.get("intVal").cloned().unwrap_or(json!(0))
    })
}

/// Decode one message by its field table.
fn message(buf: &[u8], schema: &[F]) -> Result<Value, String> {
    let b64 = base64::engine::general_purpose::STANDARD;
    let mut out = Map::new();
    for (num, field) in fields(buf)? {
        let Some(F(_, name, kind)) = schema.iter().find(|f| f.0 == num) else {
            continue;
        };
        let name = (*name).to_owned();
        match (*kind, field) {
            (Str, Field::Bytes(x)) => {
                out.insert(name, text(x));
            }
            (Int, Field::Varint(v)) => {
                // int32/int64 fields: negative values are sign-extended to 64 bits.
                out.insert(name, json!(v as i64));
            }
            (Bool, Field::Varint(v)) => {
                out.insert(name, json!(v != 0));
            }
            (Msg(s), Field::Bytes(x)) => {
                out.insert(name, message(x, s)?);
            }
            (IntOrStr, Field::Bytes(x)) => {
                out.insert(name, int_or_string(x)?);
            }
            (Strs, Field::Bytes(x)) => {
                if let Some(a) = out.entry(name).or_insert_with(|| json!([])).as_array_mut() {
                    a.push(text(x));
                }
            }
            (Msgs(s), Field::Bytes(x)) => {
                let item = message(x, s)?;
                if let Some(a) = out.entry(name).or_insert_with(|| json!([])).as_array_mut() {
                    a.push(item);
                }
            }
            (StrMap | BytesMap, Field::Bytes(x)) => {
                let (k, v) = map_entry(x)?;
                let value = if matches!(kind, BytesMap) {
                    json!(b64.encode(v))
                } else {
                    text(v)
                };
                if let Some(m) = out.entry(name).or_insert_with(|| json!({})).as_object_mut() {
                    m.insert(k, value);
                }
            }
            _ => return Err(format!("field {num} ({name}) has an unexpected wire type")),
        }
    }
    Ok(Value::Object(out))
}

/// Go's protobuf encoding writes non-pointer fields even when unset (`""`, `0`); JSON omits
/// them, and defaulting depends on that. Drop empty strings (except map values, which may
/// legitimately be empty) and zero node ports.
fn prune_unset(v: &mut Value) {
    match v {
        Value::Object(m) => {
            m.retain(|k, x| {
                !(x.as_str() == Some("") || (k == "nodePort" && x.as_i64() == Some(0)))
            });
            for (k, x) in m.iter_mut() {
                if !matches!(
                    k.as_str(),
                    "data"
                        | "stringData"
                        | "binaryData"
                        | "labels"
                        | "annotations"
                        | "matchLabels"
                        | "selector"
                ) {
                    prune_unset(x);
                }
            }
        }
        Value::Array(a) => a.iter_mut().for_each(prune_unset),
        _ => {}
    }
}

/// Decode a protobuf request body into the JSON form of the object.
pub fn decode(body: &[u8]) -> Result<Value, String> {
    let rest = body
        .strip_prefix(MAGIC)
        .ok_or("missing k8s protobuf prefix")?;
    let envelope = message(rest, UNKNOWN)?;
    let kind = envelope
        .pointer("/typeMeta/kind")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_owned();
    if kind == "DeleteOptions" {
        return Ok(Value::Null);
    }
    let Some((_, api_version, schema)) = TYPES.iter().find(|(k, _, _)| *k == kind) else {
        return Err(format!(
            "protobuf bodies of kind {kind:?} are not supported by the sandbox; send JSON"
        ));
    };
    let raw = fields(rest)?
        .into_iter()
        .find_map(|(n, f)| match (n, f) {
            (2, Field::Bytes(r)) => Some(r),
            _ => None,
        })
        .unwrap_or(&[]);
    let mut obj = message(raw, schema)?;
    prune_unset(&mut obj);
    obj["apiVersion"] = json!(api_version);
    obj["kind"] = json!(kind);
    Ok(obj)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ld(num: u64, bytes: &[u8]) -> Vec<u8> {
        let mut v = vec![((num << 3) | 2) as u8, bytes.len() as u8];
        v.extend_from_slice(bytes);
        v
    }

    fn envelope(kind: &[u8], api_version: &[u8], raw: &[u8]) -> Vec<u8> {
        let type_meta = [ld(1, api_version), ld(2, kind)].concat();
        [MAGIC.to_vec(), ld(1, &type_meta), ld(2, raw)].concat()
    }

    #[test]
    fn decodes_a_secret_envelope() {
        let meta = [
            ld(1, b"sh.helm.release.v1.x.v1"),
            ld(11, &[ld(1, b"owner"), ld(2, b"helm")].concat()),
        ]
        .concat();
        let secret = [
            ld(1, &meta),
            ld(2, &[ld(1, b"release"), ld(2, b"abc")].concat()),
            ld(3, b"helm.sh/release.v1"),
        ]
        .concat();
        let v = decode(&envelope(b"Secret", b"v1", &secret)).unwrap();
        assert_eq!(v["metadata"]["name"], "sh.helm.release.v1.x.v1");
        assert_eq!(v["metadata"]["labels"]["owner"], "helm");
        assert_eq!(v["data"]["release"], "YWJj");
        assert_eq!(v["type"], "helm.sh/release.v1");
    }

    #[test]
    fn unset_strings_are_dropped_but_empty_label_values_kept() {
        let meta = [ld(1, b"p"), ld(11, &[ld(1, b"empty"), ld(2, b"")].concat())].concat();
        let container = [ld(1, b"c"), ld(2, b"img:1"), ld(14, b""), ld(5, b"")].concat();
        let pod = [ld(1, &meta), ld(2, &ld(2, &container))].concat();
        let v = decode(&envelope(b"Pod", b"v1", &pod)).unwrap();
        assert_eq!(v["metadata"]["labels"]["empty"], "");
        assert_eq!(
            v["spec"]["containers"][0],
            json!({"name": "c", "image": "img:1"})
        );
        assert_eq!(
            (v["apiVersion"].as_str(), v["kind"].as_str()),
            (Some("v1"), Some("Pod"))
        );
    }

    #[test]
    fn unknown_kinds_are_refused_with_a_hint() {
        let err = decode(&envelope(b"Job", b"batch/v1", &[])).unwrap_err();
        assert!(err.contains("send JSON"), "{err}");
    }
}
