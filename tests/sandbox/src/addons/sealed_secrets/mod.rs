//! The sealed-secrets add-on, as the Bitnami chart installs it in kube-system: the
//! controller's ServiceAccount, Service and Deployment (its image preloaded on the node), its
//! key registry ([`key`]: renewal, reload on restart), its HTTP answers ([`server`]:
//! `/v1/cert.pem`, `/v1/verify`, `/v1/rotate`, `/healthz`), and the unsealing of
//! SealedSecrets into Secrets ([`controller`], format in [`crypto`]).

pub mod controller;
pub mod crypto;
pub mod key;
pub mod server;

use std::sync::Arc;

use serde_json::json;

pub use key::{KeyRegistry, SealingKey};

use crate::apiserver::registry;
use crate::network::ProxyResponse;
use crate::resources::Resource;
use crate::scenario::normalize_image;
use crate::state::{SimState, State};

/// The controller image, preloaded on the node.
pub const IMAGE: &str = "docker.io/bitnami/sealed-secrets-controller:0.27.1";
/// The controller's namespace.
pub const NAMESPACE: &str = "kube-system";
/// Name of the controller's ServiceAccount, Service and Deployment.
pub const NAME: &str = "sealed-secrets-controller";

/// Install the add-on: preload the image, create the controller's objects, and start
/// generating (or loading) the sealing key. Called once at start.
pub fn install(state: &Arc<State>) {
    state.sim().extra_images.insert(normalize_image(IMAGE));
    create_objects(state);
    key::start_key_generation(state.clone());
}

fn create_objects(state: &State) {
    let labels = json!({"name": NAME});
    let svc = json!({
        "metadata": {"name": NAME, "namespace": NAMESPACE, "labels": labels},
        "spec": {"type": "ClusterIP", "selector": labels, "ports": [{"name": "http", "port": 8080, "targetPort": 8080, "protocol": "TCP"}]}
    });
    let deploy = json!({
        "metadata": {"name": NAME, "namespace": NAMESPACE, "labels": labels},
        "spec": {
            "replicas": 1,
            "selector": {"matchLabels": labels},
            "template": {
                "metadata": {"labels": labels},
                "spec": {
                    "serviceAccountName": NAME,
                    "containers": [{
                        "name": NAME,
                        "image": IMAGE,
                        "imagePullPolicy": "IfNotPresent",
                        "command": ["controller"],
                        "ports": [{"containerPort": 8080, "name": "http", "protocol": "TCP"}],
                        "readinessProbe": {"httpGet": {"path": "/healthz", "port": "http"}},
                        "livenessProbe": {"httpGet": {"path": "/healthz", "port": "http"}}
                    }]
                }
            }
        }
    });
    let sa = json!({"metadata": {"name": NAME, "namespace": NAMESPACE, "labels": labels}});
    for (r, obj) in [
        (Resource::ServiceAccount, sa),
        (Resource::Service, svc),
        (Resource::Deployment, deploy),
    ] {
        if let Err(e) = registry::create(state, r, NAMESPACE, obj, false)
            && e.code != 409
        {
            tracing::warn!("installing {} {NAME} failed: {}", r.kind, e.message);
        }
    }
}

/// Whether a service-proxy request is for the controller's certificate (clients retry it
/// while the controller starts).
pub fn is_cert_request(namespace: &str, service: &str, path: &str) -> bool {
    namespace == NAMESPACE && service == NAME && path.split('?').next() == Some("/v1/cert.pem")
}

/// The controller's HTTP answers (see [`server`]).
pub fn serve(sim: &SimState, method: &str, path: &str, body: &[u8]) -> ProxyResponse {
    server::serve(sim, method, path, body)
}
