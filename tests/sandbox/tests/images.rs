//! Fidelity of images, through the real kubectl: an image named by a digest the node lists
//! runs without a pull; pulls fail with the wording of the runtime (containerd on kind,
//! Docker Engine on minikube) for not found, denied and timeouts, ErrImagePull then
//! ImagePullBackOff with the kubelet's events; InvalidImageName for a malformed reference;
//! a slow pull keeps the container in ContainerCreating.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a failed unwrap is a failed test

mod common;

use std::time::Duration;

use serde_json::Value;

use common::{apply, events_for, pod, wait_for, wait_status};
use todo_e2e::harness::{TestEnv, run};

const LONG: Duration = Duration::from_secs(20);

fn bare_pod(name: &str, image: &str) -> String {
    format!(
        "apiVersion: v1\nkind: Pod\nmetadata: {{name: {name}, namespace: default}}\nspec:\n  containers:\n  - {{name: app, image: \"{image}\", imagePullPolicy: IfNotPresent}}\n"
    )
}

/// The node's image names (`node.status.images[].names`).
fn node_image_names(env: &TestEnv) -> Vec<String> {
    let r = run(env.kubectl().args(["get", "nodes", "-o", "json"])).expect_code(0);
    r.json()["items"][0]["status"]["images"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|i| i["names"].as_array().cloned().unwrap_or_default())
        .filter_map(|n| n.as_str().map(str::to_owned))
        .collect()
}

fn waiting(p: &Value) -> (String, String) {
    let w = &p["status"]["containerStatuses"][0]["state"]["waiting"];
    (
        w["reason"].as_str().unwrap_or("").to_owned(),
        w["message"].as_str().unwrap_or("").to_owned(),
    )
}

/// The first waiting message of pod `name` in `reason`.
fn message_in(env: &TestEnv, name: &str, reason: &str) -> String {
    wait_for(LONG, || {
        pod(env, name)
            .map(|p| waiting(&p))
            .filter(|(r, _)| r == reason)
            .map(|(_, m)| m)
    })
    .unwrap_or_else(|| panic!("{name} never waited in {reason}: {:?}", pod(env, name)))
}

#[test]
fn an_image_named_by_a_digest_the_node_lists_runs_without_a_pull() {
    let env = TestEnv::sandbox_only("");
    let by_digest = node_image_names(&env)
        .into_iter()
        .find(|n| n.starts_with("todo-chatbot-frontend@sha256:"))
        .expect("the node lists the frontend by digest");
    apply(&env, "p.yaml", &bare_pod("pinned", &by_digest));
    run(env.kubectl().args([
        "wait",
        "--for=condition=Ready",
        "pod/pinned",
        "--timeout=20s",
    ]))
    .expect_code(0);
    let pulled = events_for(&env, "pinned", "Pulled");
    assert_eq!(
        pulled[0]["message"],
        format!("Container image \"{by_digest}\" already present on machine")
    );
    assert!(events_for(&env, "pinned", "Pulling").is_empty());
    let p = pod(&env, "pinned").unwrap();
    let cs = &p["status"]["containerStatuses"][0];
    let digest = by_digest.split('@').nth(1).unwrap();
    assert_eq!(
        cs["imageID"],
        format!("docker-pullable://todo-chatbot-frontend@{digest}")
    );
    // A digest the node does not have is pulled (and here refused).
    let other = format!("todo-chatbot-frontend@sha256:{}", "0".repeat(64));
    apply(&env, "q.yaml", &bare_pod("other", &other));
    wait_status(&env, "other", "ErrImagePull", LONG);
}

const KIND: &str = r#"platform: {name: kind, cluster: dev}
timings: {crashBackoffMs: 3000}
registry: ["ghcr.io/acme/todo-backend:1.0.0"]
pullErrors:
- {image: registry.example.com/todo/backend, error: timeout}
"#;

#[test]
fn containerd_pull_errors_read_as_containerd_writes_them() {
    let env = TestEnv::sandbox_only(KIND);
    apply(
        &env,
        "a.yaml",
        &bare_pod("notfound", "ghcr.io/acme/todo-backend:9.9.9"),
    );
    apply(
        &env,
        "b.yaml",
        &bare_pod("denied", "todo-chatbot-backend:9.9.9"),
    );
    apply(
        &env,
        "c.yaml",
        &bare_pod("timeout", "registry.example.com/todo/backend:1.0.0"),
    );
    let m = message_in(&env, "notfound", "ErrImagePull");
    assert_eq!(
        m,
        "rpc error: code = NotFound desc = failed to pull and unpack image \"ghcr.io/acme/todo-backend:9.9.9\": failed to resolve reference \"ghcr.io/acme/todo-backend:9.9.9\": ghcr.io/acme/todo-backend:9.9.9: not found"
    );
    let m = message_in(&env, "denied", "ErrImagePull");
    assert_eq!(
        m,
        "failed to pull and unpack image \"docker.io/library/todo-chatbot-backend:9.9.9\": failed to resolve reference \"docker.io/library/todo-chatbot-backend:9.9.9\": pull access denied, repository does not exist or may require authorization: server message: insufficient_scope: authorization failed"
    );
    let m = message_in(&env, "timeout", "ErrImagePull");
    assert!(m.starts_with("rpc error: code = DeadlineExceeded desc = failed to pull and unpack image \"registry.example.com/todo/backend:1.0.0\""), "{m}");
    assert!(
        m.contains("dial tcp 203.0.113.") && m.ends_with(":443: i/o timeout"),
        "{m}"
    );
    // Then the back-off, carrying the last error.
    let m = message_in(&env, "denied", "ImagePullBackOff");
    assert!(m.starts_with("Back-off pulling image \"todo-chatbot-backend:9.9.9\": ErrImagePull: failed to pull and unpack image"), "{m}");
    let failed: Vec<String> = events_for(&env, "denied", "Failed")
        .iter()
        .map(|e| e["message"].as_str().unwrap_or("").to_owned())
        .collect();
    assert!(
        failed.iter().any(|f| f.starts_with(
            "Failed to pull image \"todo-chatbot-backend:9.9.9\": failed to pull and unpack image"
        )),
        "{failed:?}"
    );
    assert!(
        failed.iter().any(|f| f == "Error: ErrImagePull"),
        "{failed:?}"
    );
    assert!(
        failed.iter().any(|f| f == "Error: ImagePullBackOff"),
        "{failed:?}"
    );
    let backoff = events_for(&env, "denied", "BackOff");
    assert_eq!(
        backoff[0]["message"],
        "Back-off pulling image \"todo-chatbot-backend:9.9.9\""
    );
    assert_eq!(backoff[0]["source"]["host"], "dev-control-plane");
}

#[test]
fn containerd_names_a_pulled_image_qualified() {
    let env = TestEnv::sandbox_only(KIND);
    // Pullable from the registry: pulled, then running, and the status names it qualified.
    apply(
        &env,
        "d.yaml",
        &bare_pod("pulled", "ghcr.io/acme/todo-backend:1.0.0"),
    );
    wait_for(LONG, || {
        pod(&env, "pulled")
            .filter(|p| p["status"]["containerStatuses"][0]["state"]["running"].is_object())
    })
    .expect("pulled and started");
    let pulled = events_for(&env, "pulled", "Pulled");
    let msg = pulled[0]["message"].as_str().unwrap();
    assert!(
        msg.starts_with("Successfully pulled image \"ghcr.io/acme/todo-backend:1.0.0\" in "),
        "{msg}"
    );
    let cs = &pod(&env, "pulled").unwrap()["status"]["containerStatuses"][0];
    assert_eq!(cs["image"], "ghcr.io/acme/todo-backend:1.0.0");
    assert!(
        cs["containerID"]
            .as_str()
            .unwrap()
            .starts_with("containerd://"),
        "{cs}"
    );
}

#[test]
fn docker_pull_errors_read_as_docker_writes_them() {
    let env = TestEnv::sandbox_only("timings: {crashBackoffMs: 3000}\n");
    apply(
        &env,
        "a.yaml",
        &bare_pod("typo", "todo-chatbot-backend:9.9.9"),
    );
    let m = message_in(&env, "typo", "ErrImagePull");
    assert_eq!(
        m,
        "Error response from daemon: pull access denied for todo-chatbot-backend, repository does not exist or may require 'docker login': denied: requested access to the resource is denied"
    );
    let row = wait_status(&env, "typo", "ImagePullBackOff", LONG);
    assert_eq!(row[1], "0/1");
}

#[test]
fn a_malformed_reference_is_an_invalid_image_name() {
    let env = TestEnv::sandbox_only("");
    apply(&env, "a.yaml", &bare_pod("bad", "Todo-Backend:1.0"));
    let row = wait_status(&env, "bad", "InvalidImageName", LONG);
    assert_eq!(row[1], "0/1");
    let want = "Failed to apply default image tag \"Todo-Backend:1.0\": couldn't parse image name \"Todo-Backend:1.0\": invalid reference format: repository name (library/Todo-Backend) must be lowercase";
    assert_eq!(message_in(&env, "bad", "InvalidImageName"), want);
    let inspect = events_for(&env, "bad", "InspectFailed");
    assert_eq!(inspect[0]["message"], want);
    assert_eq!(inspect[0]["type"], "Warning");
    assert!(
        events_for(&env, "bad", "Failed")
            .iter()
            .any(|e| e["message"] == "Error: InvalidImageName")
    );
}

#[test]
fn a_slow_pull_keeps_the_container_creating() {
    let env = TestEnv::sandbox_only("timings: {pullMs: 4000}\nregistry: [\"nginx:1.27\"]\n");
    apply(&env, "a.yaml", &bare_pod("web", "nginx:1.27"));
    let row = wait_status(&env, "web", "ContainerCreating", LONG);
    assert_eq!(row[1], "0/1");
    assert_eq!(
        events_for(&env, "web", "Pulling")[0]["message"],
        "Pulling image \"nginx:1.27\""
    );
    assert!(
        events_for(&env, "web", "Pulled").is_empty(),
        "still pulling: {:#?}",
        events_for(&env, "web", "Pulled")
    );
    wait_status(&env, "web", "Running", LONG);
    let pulled = events_for(&env, "web", "Pulled");
    let msg = pulled[0]["message"].as_str().unwrap();
    assert!(
        msg.starts_with(
            "Successfully pulled image \"nginx:1.27\" in 4s (4s including waiting). Image size: "
        ),
        "{msg}"
    );
    // The node now lists it.
    let listed = wait_for(LONG, || {
        node_image_names(&env)
            .contains(&"nginx:1.27".to_owned())
            .then_some(())
    });
    assert!(listed.is_some(), "{:?}", node_image_names(&env));
}
