//! Round trip 3, only when something is broken: which log tails explain it (a pure decision,
//! [`wanted`]), and reading them.

use std::collections::BTreeMap;

use futures::future::join_all;
use k8s_openapi::api::core::v1::Pod;
use kube::Api;
use kube::api::LogParams;

use super::{HealthOutcome, Snapshot, Unread};
use crate::chart::Component;
use crate::cluster::Cluster;
use crate::diagnose;
use crate::redact::sanitize as redact;

/// One log tail to read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogRequest {
    /// The pod.
    pub pod: String,
    /// The container.
    pub container: String,
    /// Read the last terminated instance first (a crash loop's last words).
    pub previous: bool,
    /// For a failing health probe: its index in [`Snapshot::health`].
    pub health: Option<usize>,
}

/// The log tails that would explain what is broken: one per component, container and reason
/// for crashing containers (replicas do not multiply requests), one not-ready pod per
/// component without another problem (the backend logs why its database is down), and one pod
/// per failing health probe.
pub fn wanted(snap: &Snapshot) -> Vec<LogRequest> {
    let problems = diagnose::pod_problems_on(&snap.pods, &snap.platform);
    let mut by_cause: BTreeMap<(String, String, String), (String, bool)> = BTreeMap::new();
    for p in problems.iter().filter(|p| p.wants_logs()) {
        let comp = snap
            .pods
            .iter()
            .find(|pod| pod.metadata.name.as_deref() == Some(&p.pod))
            .and_then(crate::pod::component)
            .map(|c| c.name())
            .unwrap_or("")
            .to_owned();
        by_cause
            .entry((comp, p.container.clone(), p.reason.clone()))
            .or_insert((p.pod.clone(), p.reason != "Error"));
    }
    for c in Component::ALL {
        let pods = snap.pods_of(c);
        let has_problem = problems.iter().any(|p| {
            pods.iter()
                .any(|pod| pod.metadata.name.as_deref() == Some(p.pod.as_str()))
        });
        if has_problem {
            continue;
        }
        let not_ready = pods
            .into_iter()
            .find(|p| crate::pod::phase(p) == "Running" && !crate::pod::is_ready(p));
        if let Some(name) = not_ready.and_then(|p| p.metadata.name.clone()) {
            by_cause.insert(
                (c.name().to_owned(), c.name().to_owned(), "NotReady".into()),
                (name, false),
            );
        }
    }
    let mut out: Vec<LogRequest> = by_cause
        .into_iter()
        .map(|((_, container, _), (pod, previous))| LogRequest {
            pod,
            container,
            previous,
            health: None,
        })
        .collect();
    for (i, h) in snap.health.iter().enumerate() {
        let failing = matches!(h.outcome, HealthOutcome::Answered { code, .. } if !(200..300).contains(&code))
            || matches!(h.outcome, HealthOutcome::TimedOut(_));
        let pod = snap
            .pods_of(h.component)
            .first()
            .and_then(|p| p.metadata.name.clone());
        if let (true, Some(pod)) = (failing, pod) {
            out.push(LogRequest {
                pod,
                container: h.component.name().to_owned(),
                previous: false,
                health: Some(i),
            });
        }
    }
    out
}

/// Read the [`wanted`] log tails concurrently into the snapshot.
pub async fn read(cluster: &Cluster, snap: &mut Snapshot) {
    let api = Api::<Pod>::namespaced(cluster.client.clone(), &snap.namespace);
    let requests = wanted(snap);
    let tails = join_all(requests.iter().map(|r| {
        let api = api.clone();
        async move { log_tail(&api, &r.pod, &r.container, r.previous).await }
    }))
    .await;
    for (r, tail) in requests.into_iter().zip(tails) {
        match r.health {
            Some(i) => snap.health[i].log_tail = tail,
            None if !tail.is_empty() => {
                snap.logs.insert((r.pod, r.container), tail);
            }
            None => {}
        }
    }
}

/// Without the release record the Secret name was a guess from the contract; the pods' own
/// secretKeyRefs tell the truth. When they disagree, the guessed read says nothing.
pub fn reconcile_secret_name(snap: &mut Snapshot) {
    let referenced = snap
        .deployment(Component::Backend)
        .and_then(|d| d.spec.as_ref())
        .and_then(|s| s.template.spec.as_ref())
        .and_then(|ps| {
            ps.containers
                .iter()
                .flat_map(|c| c.env.iter().flatten())
                .find_map(|e| {
                    e.value_from
                        .as_ref()?
                        .secret_key_ref
                        .as_ref()
                        .map(|r| r.name.clone())
                })
        });
    if let Some(name) = referenced.filter(|n| *n != snap.secret_name) {
        let why = match &snap.release {
            Err(u) => u.message.clone(),
            Ok(_) => String::new(),
        };
        snap.secret = snap.secret.as_ref().map(|_| {
            Err(Unread {
                message: format!("the release record is unreadable ({why})"),
                hint: Some("pass a context that may read Secrets".into()),
                forbidden: true,
            })
        });
        snap.secret_name = name;
    }
}

/// The last lines of a container's log, redacted; empty when unreadable. `previous` reads the
/// last terminated instance first (what a crash loop printed before it died).
async fn log_tail(api: &Api<Pod>, pod: &str, container: &str, previous: bool) -> Vec<String> {
    let lp = |previous| LogParams {
        container: Some(container.to_owned()),
        previous,
        tail_lines: Some(10),
        limit_bytes: Some(16 * 1024),
        ..Default::default()
    };
    let mut text = if previous {
        api.logs(pod, &lp(true)).await.ok()
    } else {
        None
    };
    if text.as_deref().is_none_or(|t| t.trim().is_empty()) {
        text = api.logs(pod, &lp(false)).await.ok();
    }
    text.unwrap_or_default()
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let l = redact(l);
            if l.chars().count() > 300 {
                format!("{}…", l.chars().take(300).collect::<String>())
            } else {
                l
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diagnose::tests::waiting;
    use crate::verify::checks::fixture;
    use k8s_openapi::api::core::v1::{ContainerState, ContainerStateTerminated};

    fn crash(pod: &mut Pod, restarts: i32) {
        let st = pod.status.as_mut().unwrap();
        let cs = &mut st.container_statuses.as_mut().unwrap()[0];
        cs.ready = false;
        cs.restart_count = restarts;
        cs.state = Some(waiting(
            "CrashLoopBackOff",
            "back-off 40s restarting failed container",
        ));
        cs.last_state = Some(ContainerState {
            terminated: Some(ContainerStateTerminated {
                exit_code: 1,
                reason: Some("Error".into()),
                ..Default::default()
            }),
            ..Default::default()
        });
    }

    #[test]
    fn a_healthy_release_reads_no_log() {
        assert_eq!(wanted(&fixture::snapshot()), []);
    }

    #[test]
    fn replicas_with_one_crash_read_one_previous_log() {
        let mut snap = fixture::snapshot();
        crash(&mut snap.pods[0], 4);
        crash(&mut snap.pods[1], 4);
        let w = wanted(&snap);
        assert_eq!(w.len(), 1, "{w:?}");
        assert!(w[0].previous && w[0].container == "backend" && w[0].health.is_none());
    }

    #[test]
    fn a_failing_health_probe_reads_one_pod_of_its_component() {
        let mut snap = fixture::snapshot();
        snap.health[1].outcome = HealthOutcome::Answered {
            code: 500,
            latency: std::time::Duration::from_millis(3),
            body: String::new(),
        };
        let w = wanted(&snap);
        assert_eq!(w.len(), 1, "{w:?}");
        assert_eq!(
            (w[0].container.as_str(), w[0].health),
            ("frontend", Some(1))
        );
    }

    #[test]
    fn unreadable_release_takes_the_secret_name_from_the_pods() {
        let mut snap = crate::verify::checks::fixture::snapshot();
        snap.release = Err(Unread {
            message: "forbidden".into(),
            hint: None,
            forbidden: true,
        });
        snap.secret_name = "guessed-secrets".into();
        snap.secret = Some(Ok(None));
        reconcile_secret_name(&mut snap);
        assert_eq!(snap.secret_name, "todo-todo-chatbot-secrets");
        assert!(
            matches!(snap.secret, Some(Err(_))),
            "a read of the guessed name says nothing"
        );
    }
}
