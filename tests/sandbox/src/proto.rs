//! Decoding of the Kubernetes protobuf wire format for the few types that client-go's typed
//! clients send as `application/vnd.kubernetes.protobuf` (Helm's release storage writes
//! Secrets this way). Only request bodies are decoded; responses are always JSON, which
//! every client accepts.

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

fn string(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn map_entry(b: &[u8]) -> Result<(String, Vec<u8>), String> {
    let mut k = String::new();
    let mut v = Vec::new();
    for (n, f) in fields(b)? {
        match (n, f) {
            (1, Field::Bytes(x)) => k = string(x),
            (2, Field::Bytes(x)) => v = x.to_vec(),
            _ => {}
        }
    }
    Ok((k, v))
}

fn owner_ref(b: &[u8]) -> Result<Value, String> {
    let mut o = Map::new();
    for (n, f) in fields(b)? {
        match (n, f) {
            (1, Field::Bytes(x)) => {
                o.insert("kind".into(), json!(string(x)));
            }
            (3, Field::Bytes(x)) => {
                o.insert("name".into(), json!(string(x)));
            }
            (4, Field::Bytes(x)) => {
                o.insert("uid".into(), json!(string(x)));
            }
            (5, Field::Bytes(x)) => {
                o.insert("apiVersion".into(), json!(string(x)));
            }
            (6, Field::Varint(v)) => {
                o.insert("controller".into(), json!(v != 0));
            }
            (7, Field::Varint(v)) => {
                o.insert("blockOwnerDeletion".into(), json!(v != 0));
            }
            _ => {}
        }
    }
    Ok(Value::Object(o))
}

fn object_meta(b: &[u8]) -> Result<Value, String> {
    let mut m = Map::new();
    let mut labels = Map::new();
    let mut annotations = Map::new();
    let mut finalizers = Vec::new();
    let mut owners = Vec::new();
    for (n, f) in fields(b)? {
        match (n, f) {
            (1, Field::Bytes(x)) => {
                m.insert("name".into(), json!(string(x)));
            }
            (2, Field::Bytes(x)) => {
                m.insert("generateName".into(), json!(string(x)));
            }
            (3, Field::Bytes(x)) => {
                m.insert("namespace".into(), json!(string(x)));
            }
            (5, Field::Bytes(x)) => {
                m.insert("uid".into(), json!(string(x)));
            }
            (6, Field::Bytes(x)) => {
                m.insert("resourceVersion".into(), json!(string(x)));
            }
            (7, Field::Varint(v)) => {
                m.insert("generation".into(), json!(v));
            }
            (11, Field::Bytes(x)) => {
                let (k, v) = map_entry(x)?;
                labels.insert(k, json!(string(&v)));
            }
            (12, Field::Bytes(x)) => {
                let (k, v) = map_entry(x)?;
                annotations.insert(k, json!(string(&v)));
            }
            (13, Field::Bytes(x)) => owners.push(owner_ref(x)?),
            (14, Field::Bytes(x)) => finalizers.push(json!(string(x))),
            _ => {}
        }
    }
    if !labels.is_empty() {
        m.insert("labels".into(), Value::Object(labels));
    }
    if !annotations.is_empty() {
        m.insert("annotations".into(), Value::Object(annotations));
    }
    if !finalizers.is_empty() {
        m.insert("finalizers".into(), Value::Array(finalizers));
    }
    if !owners.is_empty() {
        m.insert("ownerReferences".into(), Value::Array(owners));
    }
    Ok(Value::Object(m))
}

fn secret(b: &[u8]) -> Result<Value, String> {
    let b64 = base64::engine::general_purpose::STANDARD;
    let mut obj = json!({"apiVersion": "v1", "kind": "Secret"});
    let mut data = Map::new();
    let mut string_data = Map::new();
    for (n, f) in fields(b)? {
        match (n, f) {
            (1, Field::Bytes(x)) => obj["metadata"] = object_meta(x)?,
            (2, Field::Bytes(x)) => {
                let (k, v) = map_entry(x)?;
                data.insert(k, json!(b64.encode(v)));
            }
            (3, Field::Bytes(x)) => obj["type"] = json!(string(x)),
            (4, Field::Bytes(x)) => {
                let (k, v) = map_entry(x)?;
                string_data.insert(k, json!(string(&v)));
            }
            (5, Field::Varint(v)) => obj["immutable"] = json!(v != 0),
            _ => {}
        }
    }
    if !data.is_empty() {
        obj["data"] = Value::Object(data);
    }
    if !string_data.is_empty() {
        obj["stringData"] = Value::Object(string_data);
    }
    Ok(obj)
}

fn config_map(b: &[u8]) -> Result<Value, String> {
    let b64 = base64::engine::general_purpose::STANDARD;
    let mut obj = json!({"apiVersion": "v1", "kind": "ConfigMap"});
    let mut data = Map::new();
    let mut binary = Map::new();
    for (n, f) in fields(b)? {
        match (n, f) {
            (1, Field::Bytes(x)) => obj["metadata"] = object_meta(x)?,
            (2, Field::Bytes(x)) => {
                let (k, v) = map_entry(x)?;
                data.insert(k, json!(string(&v)));
            }
            (3, Field::Bytes(x)) => {
                let (k, v) = map_entry(x)?;
                binary.insert(k, json!(b64.encode(v)));
            }
            (4, Field::Varint(v)) => obj["immutable"] = json!(v != 0),
            _ => {}
        }
    }
    if !data.is_empty() {
        obj["data"] = Value::Object(data);
    }
    if !binary.is_empty() {
        obj["binaryData"] = Value::Object(binary);
    }
    Ok(obj)
}

fn namespace(b: &[u8]) -> Result<Value, String> {
    let mut obj = json!({"apiVersion": "v1", "kind": "Namespace"});
    for (n, f) in fields(b)? {
        if let (1, Field::Bytes(x)) = (n, f) {
            obj["metadata"] = object_meta(x)?;
        }
    }
    Ok(obj)
}

fn strings(b: &[u8], names: &[(u64, &str)]) -> Result<Value, String> {
    let mut m = Map::new();
    for (n, f) in fields(b)? {
        if let (Some((_, name)), Field::Bytes(x)) = (names.iter().find(|(num, _)| *num == n), f) {
            m.insert((*name).to_owned(), json!(string(x)));
        }
    }
    Ok(Value::Object(m))
}

fn access_review(b: &[u8]) -> Result<Value, String> {
    let mut obj = json!({"apiVersion": "authorization.k8s.io/v1", "kind": "SelfSubjectAccessReview", "spec": {}});
    for (n, f) in fields(b)? {
        match (n, f) {
            (1, Field::Bytes(x)) => obj["metadata"] = object_meta(x)?,
            (2, Field::Bytes(spec)) => {
                for (sn, sf) in fields(spec)? {
                    match (sn, sf) {
                        (1, Field::Bytes(ra)) => {
                            obj["spec"]["resourceAttributes"] = strings(
                                ra,
                                &[
                                    (1, "namespace"),
                                    (2, "verb"),
                                    (3, "group"),
                                    (4, "version"),
                                    (5, "resource"),
                                    (6, "subresource"),
                                    (7, "name"),
                                ],
                            )?
                        }
                        (2, Field::Bytes(na)) => {
                            obj["spec"]["nonResourceAttributes"] =
                                strings(na, &[(1, "path"), (2, "verb")])?
                        }
                        _ => {}
                    }
                }
            }
            _ => {}
        }
    }
    Ok(obj)
}

/// Decode a protobuf request body into the JSON form of the object.
pub fn decode(body: &[u8]) -> Result<Value, String> {
    let rest = body
        .strip_prefix(MAGIC)
        .ok_or("missing k8s protobuf prefix")?;
    let mut kind = String::new();
    let mut raw: &[u8] = &[];
    for (n, f) in fields(rest)? {
        match (n, f) {
            (1, Field::Bytes(tm)) => {
                for (tn, tf) in fields(tm)? {
                    if let (2, Field::Bytes(k)) = (tn, tf) {
                        kind = string(k);
                    }
                }
            }
            (2, Field::Bytes(r)) => raw = r,
            _ => {}
        }
    }
    match kind.as_str() {
        "Secret" => secret(raw),
        "ConfigMap" => config_map(raw),
        "Namespace" => namespace(raw),
        "SelfSubjectAccessReview" => access_review(raw),
        "DeleteOptions" => Ok(Value::Null),
        other => Err(format!(
            "protobuf bodies of kind {other:?} are not supported by the sandbox; send JSON"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ld(num: u64, bytes: &[u8]) -> Vec<u8> {
        let mut v = vec![((num << 3) | 2) as u8, bytes.len() as u8];
        v.extend_from_slice(bytes);
        v
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
        let type_meta = [ld(1, b"v1"), ld(2, b"Secret")].concat();
        let body = [MAGIC.to_vec(), ld(1, &type_meta), ld(2, &secret)].concat();
        let v = decode(&body).unwrap();
        assert_eq!(v["metadata"]["name"], "sh.helm.release.v1.x.v1");
        assert_eq!(v["metadata"]["labels"]["owner"], "helm");
        assert_eq!(v["data"]["release"], "YWJj");
        assert_eq!(v["type"], "helm.sh/release.v1");
    }
}
