//! Decoding of the Kubernetes protobuf wire format for the types that client-go's typed
//! clients send as `application/vnd.kubernetes.protobuf`: Helm's release storage (Secrets)
//! and kubectl's generators (`create deployment|secret|configmap|namespace|serviceaccount`,
//! `run`, `expose`, `auth can-i`). Only the fields those generators set are decoded. Only request bodies are decoded; responses are always JSON, which
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

fn int_or_string(b: &[u8]) -> Result<Value, String> {
    let mut kind = 0;
    let mut int = 0i64;
    let mut text = String::new();
    for (n, f) in fields(b)? {
        match (n, f) {
            (1, Field::Varint(v)) => kind = v,
            (2, Field::Varint(v)) => int = v as i64,
            (3, Field::Bytes(x)) => text = string(x),
            _ => {}
        }
    }
    Ok(if kind == 1 { json!(text) } else { json!(int) })
}

fn string_map_entry(b: &[u8]) -> Result<(String, Value), String> {
    let (k, v) = map_entry(b)?;
    Ok((k, json!(string(&v))))
}

fn label_selector(b: &[u8]) -> Result<Value, String> {
    let mut labels = Map::new();
    let mut exprs = Vec::new();
    for (n, f) in fields(b)? {
        match (n, f) {
            (1, Field::Bytes(x)) => {
                let (k, v) = string_map_entry(x)?;
                labels.insert(k, v);
            }
            (2, Field::Bytes(x)) => {
                let mut e = json!({"values": []});
                for (en, ef) in fields(x)? {
                    match (en, ef) {
                        (1, Field::Bytes(v)) => e["key"] = json!(string(v)),
                        (2, Field::Bytes(v)) => e["operator"] = json!(string(v)),
                        (3, Field::Bytes(v)) => {
                            if let Some(a) = e["values"].as_array_mut() {
                                a.push(json!(string(v)));
                            }
                        }
                        _ => {}
                    }
                }
                exprs.push(e);
            }
            _ => {}
        }
    }
    let mut sel = json!({});
    if !labels.is_empty() {
        sel["matchLabels"] = Value::Object(labels);
    }
    if !exprs.is_empty() {
        sel["matchExpressions"] = Value::Array(exprs);
    }
    Ok(sel)
}

fn container(b: &[u8]) -> Result<Value, String> {
    let mut c = Map::new();
    let mut command = Vec::new();
    let mut args = Vec::new();
    let mut ports = Vec::new();
    let mut env = Vec::new();
    for (n, f) in fields(b)? {
        match (n, f) {
            (1, Field::Bytes(x)) => {
                c.insert("name".into(), json!(string(x)));
            }
            (2, Field::Bytes(x)) => {
                c.insert("image".into(), json!(string(x)));
            }
            (3, Field::Bytes(x)) => command.push(json!(string(x))),
            (4, Field::Bytes(x)) => args.push(json!(string(x))),
            (5, Field::Bytes(x)) => {
                c.insert("workingDir".into(), json!(string(x)));
            }
            (6, Field::Bytes(x)) => {
                let mut p = Map::new();
                for (pn, pf) in fields(x)? {
                    match (pn, pf) {
                        (1, Field::Bytes(v)) => {
                            p.insert("name".into(), json!(string(v)));
                        }
                        (3, Field::Varint(v)) => {
                            p.insert("containerPort".into(), json!(v));
                        }
                        (4, Field::Bytes(v)) => {
                            p.insert("protocol".into(), json!(string(v)));
                        }
                        _ => {}
                    }
                }
                ports.push(Value::Object(p));
            }
            (7, Field::Bytes(x)) => {
                let mut e = Map::new();
                for (en, ef) in fields(x)? {
                    match (en, ef) {
                        (1, Field::Bytes(v)) => {
                            e.insert("name".into(), json!(string(v)));
                        }
                        (2, Field::Bytes(v)) => {
                            e.insert("value".into(), json!(string(v)));
                        }
                        _ => {}
                    }
                }
                env.push(Value::Object(e));
            }
            (14, Field::Bytes(x)) => {
                c.insert("imagePullPolicy".into(), json!(string(x)));
            }
            _ => {}
        }
    }
    for (key, list) in [
        ("command", command),
        ("args", args),
        ("ports", ports),
        ("env", env),
    ] {
        if !list.is_empty() {
            c.insert(key.into(), Value::Array(list));
        }
    }
    Ok(Value::Object(c))
}

fn pod_spec(b: &[u8]) -> Result<Value, String> {
    let mut spec = json!({"containers": []});
    for (n, f) in fields(b)? {
        match (n, f) {
            (2, Field::Bytes(x)) => {
                let c = container(x)?;
                if let Some(a) = spec["containers"].as_array_mut() {
                    a.push(c);
                }
            }
            (3, Field::Bytes(x)) => spec["restartPolicy"] = json!(string(x)),
            (4, Field::Varint(v)) => spec["terminationGracePeriodSeconds"] = json!(v),
            (6, Field::Bytes(x)) => spec["dnsPolicy"] = json!(string(x)),
            (8, Field::Bytes(x)) => spec["serviceAccountName"] = json!(string(x)),
            (10, Field::Bytes(x)) => spec["nodeName"] = json!(string(x)),
            _ => {}
        }
    }
    Ok(spec)
}

fn pod_template(b: &[u8]) -> Result<Value, String> {
    let mut t = json!({});
    for (n, f) in fields(b)? {
        match (n, f) {
            (1, Field::Bytes(x)) => t["metadata"] = object_meta(x)?,
            (2, Field::Bytes(x)) => t["spec"] = pod_spec(x)?,
            _ => {}
        }
    }
    Ok(t)
}

fn deployment(b: &[u8]) -> Result<Value, String> {
    let mut obj = json!({"apiVersion": "apps/v1", "kind": "Deployment", "spec": {}});
    for (n, f) in fields(b)? {
        match (n, f) {
            (1, Field::Bytes(x)) => obj["metadata"] = object_meta(x)?,
            (2, Field::Bytes(spec)) => {
                for (sn, sf) in fields(spec)? {
                    match (sn, sf) {
                        (1, Field::Varint(v)) => obj["spec"]["replicas"] = json!(v),
                        (2, Field::Bytes(x)) => obj["spec"]["selector"] = label_selector(x)?,
                        (3, Field::Bytes(x)) => obj["spec"]["template"] = pod_template(x)?,
                        (4, Field::Bytes(x)) => {
                            let mut st = json!({});
                            for (tn, tf) in fields(x)? {
                                match (tn, tf) {
                                    (1, Field::Bytes(v)) => st["type"] = json!(string(v)),
                                    (2, Field::Bytes(v)) => {
                                        let mut ru = json!({});
                                        for (rn, rf) in fields(v)? {
                                            match (rn, rf) {
                                                (1, Field::Bytes(w)) => {
                                                    ru["maxUnavailable"] = int_or_string(w)?
                                                }
                                                (2, Field::Bytes(w)) => {
                                                    ru["maxSurge"] = int_or_string(w)?
                                                }
                                                _ => {}
                                            }
                                        }
                                        st["rollingUpdate"] = ru;
                                    }
                                    _ => {}
                                }
                            }
                            if st.as_object().is_some_and(|m| !m.is_empty()) {
                                obj["spec"]["strategy"] = st;
                            }
                        }
                        (5, Field::Varint(v)) => obj["spec"]["minReadySeconds"] = json!(v),
                        (6, Field::Varint(v)) => obj["spec"]["revisionHistoryLimit"] = json!(v),
                        (9, Field::Varint(v)) => obj["spec"]["progressDeadlineSeconds"] = json!(v),
                        _ => {}
                    }
                }
            }
            _ => {}
        }
    }
    Ok(obj)
}

fn pod(b: &[u8]) -> Result<Value, String> {
    let mut obj = json!({"apiVersion": "v1", "kind": "Pod"});
    for (n, f) in fields(b)? {
        match (n, f) {
            (1, Field::Bytes(x)) => obj["metadata"] = object_meta(x)?,
            (2, Field::Bytes(x)) => obj["spec"] = pod_spec(x)?,
            _ => {}
        }
    }
    Ok(obj)
}

fn service(b: &[u8]) -> Result<Value, String> {
    let mut obj = json!({"apiVersion": "v1", "kind": "Service", "spec": {}});
    let mut ports = Vec::new();
    let mut selector = Map::new();
    for (n, f) in fields(b)? {
        match (n, f) {
            (1, Field::Bytes(x)) => obj["metadata"] = object_meta(x)?,
            (2, Field::Bytes(spec)) => {
                for (sn, sf) in fields(spec)? {
                    match (sn, sf) {
                        (1, Field::Bytes(x)) => {
                            let mut p = Map::new();
                            for (pn, pf) in fields(x)? {
                                match (pn, pf) {
                                    (1, Field::Bytes(v)) => {
                                        p.insert("name".into(), json!(string(v)));
                                    }
                                    (2, Field::Bytes(v)) => {
                                        p.insert("protocol".into(), json!(string(v)));
                                    }
                                    (3, Field::Varint(v)) => {
                                        p.insert("port".into(), json!(v));
                                    }
                                    (4, Field::Bytes(v)) => {
                                        p.insert("targetPort".into(), int_or_string(v)?);
                                    }
                                    (5, Field::Varint(v)) => {
                                        p.insert("nodePort".into(), json!(v));
                                    }
                                    _ => {}
                                }
                            }
                            ports.push(Value::Object(p));
                        }
                        (2, Field::Bytes(x)) => {
                            let (k, v) = string_map_entry(x)?;
                            selector.insert(k, v);
                        }
                        (3, Field::Bytes(x)) => obj["spec"]["clusterIP"] = json!(string(x)),
                        (4, Field::Bytes(x)) => obj["spec"]["type"] = json!(string(x)),
                        _ => {}
                    }
                }
            }
            _ => {}
        }
    }
    obj["spec"]["ports"] = Value::Array(ports);
    if !selector.is_empty() {
        obj["spec"]["selector"] = Value::Object(selector);
    }
    Ok(obj)
}

fn service_account(b: &[u8]) -> Result<Value, String> {
    let mut obj = json!({"apiVersion": "v1", "kind": "ServiceAccount"});
    for (n, f) in fields(b)? {
        match (n, f) {
            (1, Field::Bytes(x)) => obj["metadata"] = object_meta(x)?,
            (4, Field::Varint(v)) => obj["automountServiceAccountToken"] = json!(v != 0),
            _ => {}
        }
    }
    Ok(obj)
}

/// Go's protobuf encoding writes non-pointer fields even when unset (`""`, `0`); JSON
/// omits them, and defaulting depends on that. Drop empty strings and zero node ports.
fn prune_unset(mut v: Value) -> Value {
    fn walk(v: &mut Value) {
        match v {
            Value::Object(m) => {
                m.retain(|k, x| {
                    !(x.as_str() == Some("") || (k == "nodePort" && x.as_i64() == Some(0)))
                });
                m.values_mut().for_each(walk);
            }
            Value::Array(a) => a.iter_mut().for_each(walk),
            _ => {}
        }
    }
    walk(&mut v);
    v
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
        "Deployment" => deployment(raw).map(prune_unset),
        "Pod" => pod(raw).map(prune_unset),
        "Service" => service(raw).map(prune_unset),
        "ServiceAccount" => service_account(raw).map(prune_unset),
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
