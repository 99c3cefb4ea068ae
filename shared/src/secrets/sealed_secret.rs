//! The `bitnami.com/v1alpha1` SealedSecret object a sealed values file stands for, as the
//! chart renders it: sent to the controller's `/v1/verify` and `/v1/rotate`, and read back
//! from `/v1/rotate`. Pure.

use std::collections::BTreeMap;

use serde_json::{Value, json};

use crate::seal::Scope;

/// The annotation that marks a SealedSecret's scope, if not strict.
pub fn scope_annotation(scope: Scope) -> Option<&'static str> {
    match scope {
        Scope::Strict => None,
        Scope::NamespaceWide => Some("sealedsecrets.bitnami.com/namespace-wide"),
        Scope::ClusterWide => Some("sealedsecrets.bitnami.com/cluster-wide"),
    }
}

/// A SealedSecret named `name` in `namespace` with `encrypted` values under `scope`; the
/// template's metadata equals the object's (the controller's `/v1/rotate` requires it).
pub fn sealed_secret(
    namespace: &str,
    name: &str,
    scope: Scope,
    encrypted: &BTreeMap<String, String>,
) -> Value {
    let mut metadata = json!({"name": name, "namespace": namespace});
    if let Some(annotation) = scope_annotation(scope) {
        metadata["annotations"] = json!({ annotation: "true" });
    }
    json!({
        "apiVersion": "bitnami.com/v1alpha1",
        "kind": "SealedSecret",
        "metadata": metadata.clone(),
        "spec": {
            "encryptedData": encrypted,
            "template": {"metadata": metadata, "type": "Opaque"},
        },
    })
}

/// The `spec.encryptedData` of a SealedSecret, when every value is a string.
pub fn encrypted_data(sealed_secret: &Value) -> Option<BTreeMap<String, String>> {
    sealed_secret
        .pointer("/spec/encryptedData")?
        .as_object()?
        .iter()
        .map(|(k, v)| Some((k.clone(), v.as_str()?.to_owned())))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_object_carries_the_scope_on_itself_and_its_template() {
        let data: BTreeMap<String, String> = [("K".to_string(), "AAAA".to_string())].into();
        let ss = sealed_secret("todo", "s", Scope::NamespaceWide, &data);
        assert_eq!(
            ss["metadata"]["annotations"]["sealedsecrets.bitnami.com/namespace-wide"],
            "true"
        );
        assert_eq!(ss["metadata"], ss["spec"]["template"]["metadata"]);
        assert_eq!(encrypted_data(&ss), Some(data));
        let strict = sealed_secret("todo", "s", Scope::Strict, &BTreeMap::new());
        assert!(strict["metadata"].get("annotations").is_none());
    }
}
