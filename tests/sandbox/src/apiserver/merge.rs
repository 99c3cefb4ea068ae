//! PATCH semantics: JSON merge patch (RFC 7386), JSON patch (RFC 6902), strategic merge
//! patch for the list merge keys real clients rely on, and the merge used by server-side
//! apply.

use serde_json::{Map, Value};

/// Apply an RFC 7386 merge patch.
pub fn merge(target: &mut Value, patch: &Value) {
    json_patch::merge(target, patch);
}

/// Apply an RFC 6902 JSON patch.
pub fn json(target: &mut Value, patch: &Value) -> Result<(), String> {
    let p: json_patch::Patch =
        serde_json::from_value(patch.clone()).map_err(|e| format!("invalid JSON patch: {e}"))?;
    json_patch::patch(target, &p).map_err(|e| e.to_string())
}

/// The merge key of a list field, by field name and the shape of its items.
fn merge_key(field: &str, sample: Option<&Value>) -> Option<&'static str> {
    Some(match field {
        "containers"
        | "initContainers"
        | "ephemeralContainers"
        | "env"
        | "volumes"
        | "imagePullSecrets" => "name",
        "volumeMounts" => "mountPath",
        "volumeDevices" => "devicePath",
        "conditions" => "type",
        "ownerReferences" => "uid",
        "hostAliases" => "ip",
        "ports" => {
            if sample.is_some_and(|s| s.get("containerPort").is_some()) {
                "containerPort"
            } else {
                "port"
            }
        }
        _ => return None,
    })
}

/// Apply a strategic merge patch.
pub fn strategic(target: &mut Value, patch: &Value) {
    match (target, patch) {
        (Value::Object(t), Value::Object(p)) => strategic_map(t, p),
        (t, p) => *t = strip_directives(p),
    }
}

fn strip_directives(v: &Value) -> Value {
    match v {
        Value::Object(m) => Value::Object(
            m.iter()
                .filter(|(k, _)| !k.starts_with('$'))
                .map(|(k, v)| (k.clone(), strip_directives(v)))
                .collect(),
        ),
        Value::Array(a) => Value::Array(a.iter().map(strip_directives).collect()),
        other => other.clone(),
    }
}

fn strategic_map(t: &mut Map<String, Value>, p: &Map<String, Value>) {
    if p.get("$patch").and_then(Value::as_str) == Some("replace") {
        *t = match strip_directives(&Value::Object(p.clone())) {
            Value::Object(m) => m,
            _ => Map::new(),
        };
        return;
    }
    if let Some(retain) = p.get("$retainKeys").and_then(Value::as_array) {
        let keep: Vec<&str> = retain.iter().filter_map(Value::as_str).collect();
        t.retain(|k, _| keep.contains(&k.as_str()));
    }
    for (k, pv) in p {
        if let Some(field) = k.strip_prefix("$deleteFromPrimitiveList/") {
            if let (Some(Value::Array(items)), Some(del)) = (t.get_mut(field), pv.as_array()) {
                items.retain(|i| !del.contains(i));
            }
            continue;
        }
        if k.starts_with('$') {
            continue;
        }
        if pv.is_null() {
            t.remove(k);
            continue;
        }
        match (t.get_mut(k), pv) {
            (Some(Value::Object(tm)), Value::Object(pm)) => strategic_map(tm, pm),
            (Some(Value::Array(ta)), Value::Array(pa)) => {
                let key = merge_key(k, pa.first().or(ta.first()));
                match key {
                    Some(key) => merge_list(ta, pa, key),
                    None if k == "finalizers" => {
                        for v in pa {
                            if !ta.contains(v) {
                                ta.push(v.clone());
                            }
                        }
                    }
                    None => *ta = pa.iter().map(strip_directives).collect(),
                }
            }
            _ => {
                t.insert(k.clone(), strip_directives(pv));
            }
        }
    }
}

fn merge_list(target: &mut Vec<Value>, patch: &[Value], key: &str) {
    if patch
        .iter()
        .any(|p| p.get("$patch").and_then(Value::as_str) == Some("replace"))
    {
        *target = patch
            .iter()
            .filter(|p| p.get("$patch").is_none())
            .map(strip_directives)
            .collect();
        return;
    }
    for item in patch {
        let id = item.get(key);
        let pos = id.and_then(|id| target.iter().position(|t| t.get(key) == Some(id)));
        let delete = item.get("$patch").and_then(Value::as_str) == Some("delete");
        match (pos, delete) {
            (Some(i), true) => {
                target.remove(i);
            }
            (None, true) => {}
            (Some(i), false) => strategic(&mut target[i], item),
            (None, false) => target.push(strip_directives(item)),
        }
    }
}

/// Server-side apply by the same field manager: remove from `live` what `previous` (the
/// manager's last applied configuration) set and `applied` (its new one) no longer sets.
/// Lists with a merge key drop the items whose key disappeared; other lists are replaced by
/// the merge that follows.
pub fn prune_unapplied(live: &mut Value, previous: &Value, applied: &Value) {
    let (Some(live_map), Some(prev), Some(new)) = (
        live.as_object_mut(),
        previous.as_object(),
        applied.as_object(),
    ) else {
        return;
    };
    for (k, pv) in prev {
        match new.get(k) {
            None => {
                live_map.remove(k);
            }
            Some(nv) => match (pv, nv, live_map.get_mut(k)) {
                (Value::Object(_), Value::Object(_), Some(lv)) => prune_unapplied(lv, pv, nv),
                (Value::Array(pa), Value::Array(na), Some(Value::Array(la))) => {
                    let Some(key) = merge_key(k, pa.first().or(na.first())) else {
                        continue;
                    };
                    for item in pa {
                        let id = item.get(key);
                        match na.iter().find(|n| n.get(key) == id) {
                            None => la.retain(|l| l.get(key) != id),
                            Some(n) => {
                                if let Some(l) = la.iter_mut().find(|l| l.get(key) == id) {
                                    prune_unapplied(l, item, n);
                                }
                            }
                        }
                    }
                }
                _ => {}
            },
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn apply_prunes_fields_the_same_manager_stopped_setting() {
        let previous = json!({"metadata": {"annotations": {"a": "1", "b": "2"}}, "spec": {"env": [{"name": "X", "value": "1"}, {"name": "Y", "value": "2"}]}});
        let applied = json!({"metadata": {"annotations": {"a": "1"}}, "spec": {"env": [{"name": "X", "value": "1"}]}});
        let mut live = json!({"metadata": {"annotations": {"a": "1", "b": "2", "other": "kept"}}, "spec": {"env": [{"name": "X", "value": "1"}, {"name": "Y", "value": "2"}, {"name": "Z"}]}});
        prune_unapplied(&mut live, &previous, &applied);
        assert_eq!(
            live,
            json!({"metadata": {"annotations": {"a": "1", "other": "kept"}}, "spec": {"env": [{"name": "X", "value": "1"}, {"name": "Z"}]}})
        );
    }

    use super::*;
    use serde_json::json;

    #[test]
    fn strategic_merge_merges_containers_by_name() {
        let mut t = json!({"spec": {"containers": [{"name": "a", "image": "x:1"}, {"name": "b", "image": "y:1"}]}});
        strategic(
            &mut t,
            &json!({"spec": {"containers": [{"name": "b", "image": "y:2"}]}}),
        );
        assert_eq!(t["spec"]["containers"][0]["image"], "x:1");
        assert_eq!(t["spec"]["containers"][1]["image"], "y:2");
    }

    #[test]
    fn strategic_merge_honours_delete_directive_and_nulls() {
        let mut t = json!({"metadata": {"labels": {"a": "1", "b": "2"}}, "env": [{"name": "X"}, {"name": "Y"}]});
        strategic(
            &mut t,
            &json!({"metadata": {"labels": {"a": null}}, "env": [{"name": "X", "$patch": "delete"}]}),
        );
        assert_eq!(
            t,
            json!({"metadata": {"labels": {"b": "2"}}, "env": [{"name": "Y"}]})
        );
    }

    #[test]
    fn merge_patch_replaces_lists() {
        let mut t = json!({"a": [1, 2], "b": {"c": 1}});
        merge(&mut t, &json!({"a": [3], "b": {"d": 2}}));
        assert_eq!(t, json!({"a": [3], "b": {"c": 1, "d": 2}}));
    }
}
