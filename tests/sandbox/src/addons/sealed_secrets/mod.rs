//! The sealed-secrets add-on, as the Bitnami chart installs it in kube-system: the
//! controller's ServiceAccount, Service and Deployment (its image preloaded on the node), the
//! sealing key ([`key`]), the controller's HTTP answers (`/v1/cert.pem`, `/healthz`), and the
//! unsealing of SealedSecrets into Secrets ([`controller`], format in [`crypto`]).

pub mod controller;
pub mod crypto;
pub mod key;

use std::sync::Arc;

use serde_json::json;

pub use key::SealingKey;

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

/// The controller's HTTP answers.
pub fn serve(sim: &SimState, path: &str) -> ProxyResponse {
    match path {
        "/v1/cert.pem" => match &sim.sealing {
            Some(key) => ProxyResponse::text(200, "application/x-pem-file", &key.cert_pem),
            None => ProxyResponse::text(
                503,
                "text/plain; charset=utf-8",
                "controller is starting: key not generated yet\n",
            ),
        },
        "/healthz" => ProxyResponse::text(200, "text/plain; charset=utf-8", "ok"),
        _ => ProxyResponse::text(404, "text/plain; charset=utf-8", "404 page not found\n"),
    }
}
