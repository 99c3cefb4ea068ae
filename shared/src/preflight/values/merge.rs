//! Helm's two merges: `-f` files and `--set` over each other (MergeMaps), then the result over
//! the chart's defaults (coalesce: a user `null` deletes a default).

use serde_json::{Map, Value};

/// Helm's `MergeMaps` for `-f` files: maps merge recursively, anything else in `src` replaces.
pub fn merge_maps(dst: &mut Map<String, Value>, src: Map<String, Value>) {
    for (key, value) in src {
        match (dst.get_mut(&key), value) {
            (Some(Value::Object(d)), Value::Object(s)) => merge_maps(d, s),
            (_, value) => {
                dst.insert(key, value);
            }
        }
    }
}

/// Remove nulls from a map, recursively through maps (not lists), as Helm does to defaults.
fn clean_nulls(map: &mut Map<String, Value>) {
    map.retain(|_, v| !v.is_null());
    for value in map.values_mut() {
        if let Value::Object(inner) = value {
            clean_nulls(inner);
        }
    }
}

/// Helm's coalescing of the user's values (which win) with the chart's defaults.
pub fn coalesce(defaults: &Map<String, Value>, mut user: Map<String, Value>) -> Map<String, Value> {
    for (key, default) in defaults {
        match user.get_mut(key) {
            Some(Value::Null) => {
                user.remove(key);
            }
            Some(Value::Object(dst)) => {
                if let Value::Object(src) = default {
                    let mut src = src.clone();
                    clean_nulls(&mut src);
                    coalesce_tables(dst, src);
                }
                // A default scalar under a user map: Helm warns and keeps the user's map.
            }
            Some(_) => {}
            None => {
                let mut value = default.clone();
                match &mut value {
                    Value::Null => continue,
                    Value::Object(m) => clean_nulls(m),
                    _ => {}
                }
                user.insert(key.clone(), value);
            }
        }
    }
    user
}

/// Coalesce one level below the top: `dst` (the user's) wins; a user null deletes a default.
fn coalesce_tables(dst: &mut Map<String, Value>, src: Map<String, Value>) {
    for (key, default) in src {
        match dst.get_mut(&key) {
            None => {
                dst.insert(key, default);
            }
            Some(Value::Null) => {
                if !default.is_null() {
                    dst.remove(&key);
                }
            }
            Some(Value::Object(d)) => {
                if let Value::Object(s) = default {
                    coalesce_tables(d, s);
                }
                // A default scalar under a user map: the user's map is kept.
            }
            // A user scalar or list over a default of any kind: the user's value is kept.
            Some(_) => {}
        }
    }
}
