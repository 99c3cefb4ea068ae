//! `events.warnings`: recent Warning events about the release's objects, summarised.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{Event, Pod};
use k8s_openapi::jiff::Timestamp;

use crate::redact::sanitize as redact;
use crate::verify::CheckResult;
use crate::verify::collect::Snapshot;

const ID: &str = "events.warnings";

/// Events older than this are history, not news.
pub const RECENT_SECS: i64 = 15 * 60;

fn event_time(e: &Event) -> Option<Timestamp> {
    e.last_timestamp
        .as_ref()
        .map(|t| t.0)
        .or_else(|| e.event_time.as_ref().map(|t| t.0))
        .or_else(|| e.first_timestamp.as_ref().map(|t| t.0))
        .or_else(|| e.metadata.creation_timestamp.as_ref().map(|t| t.0))
}

fn ready_since(p: &Pod) -> Option<Timestamp> {
    p.status
        .as_ref()?
        .conditions
        .as_ref()?
        .iter()
        .find(|c| c.type_ == "Ready" && c.status == "True")
        .and_then(|c| c.last_transition_time.as_ref().map(|t| t.0))
}

/// Whether an event is about the release and still news: about one of its objects (by name;
/// pods must still exist), within [`RECENT_SECS`], and not a probe failure from before a pod
/// that is now ready became ready.
fn relevant(s: &Snapshot, e: &Event) -> bool {
    let name = e.involved_object.name.as_deref().unwrap_or("");
    let kind = e.involved_object.kind.as_deref().unwrap_or("");
    let when = event_time(e);
    if when.is_some_and(|t| s.now.as_second() - t.as_second() > RECENT_SECS) {
        return false;
    }
    if kind == "Pod" {
        let Some(pod) = s
            .pods
            .iter()
            .find(|p| p.metadata.name.as_deref() == Some(name))
        else {
            return false;
        };
        if let (Some(ready), Some(t)) = (ready_since(pod), when)
            && t <= ready
        {
            return false;
        }
        return true;
    }
    name.starts_with(&s.fullname)
        || name == s.secret_name
        || name.starts_with(&format!("sh.helm.release.v1.{}.", s.release_name))
}

/// See the module docs.
pub fn warnings(s: &Snapshot) -> CheckResult {
    let events = match &s.events {
        None => return CheckResult::skip(ID, "not read"),
        Some(Err(u)) => {
            return CheckResult::warn(
                ID,
                format!("events not checked: {}", u.message),
                u.hint.clone().unwrap_or_default(),
            );
        }
        Some(Ok(evs)) => evs,
    };
    // (reason, kind/name) → (count, newest message)
    let mut groups: BTreeMap<(String, String), (i32, String)> = BTreeMap::new();
    for e in events.iter().filter(|e| relevant(s, e)) {
        let reason = e.reason.clone().unwrap_or_else(|| "Warning".into());
        let obj = format!(
            "{}/{}",
            e.involved_object
                .kind
                .as_deref()
                .unwrap_or("?")
                .to_ascii_lowercase(),
            e.involved_object.name.as_deref().unwrap_or("?")
        );
        let entry = groups.entry((reason, obj)).or_insert((0, String::new()));
        entry.0 += e.count.unwrap_or(1).max(1);
        let msg: String = e
            .message
            .as_deref()
            .unwrap_or("")
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ");
        let msg = redact(&msg);
        entry.1 = if msg.chars().count() > 200 {
            format!("{}…", msg.chars().take(200).collect::<String>())
        } else {
            msg
        };
    }
    if groups.is_empty() {
        return CheckResult::pass(
            ID,
            format!("no Warning events in the last {} minutes", RECENT_SECS / 60),
        );
    }
    let total: i32 = groups.values().map(|(n, _)| n).sum();
    let mut by_reason: BTreeMap<&str, i32> = BTreeMap::new();
    for ((reason, _), (n, _)) in &groups {
        *by_reason.entry(reason.as_str()).or_default() += n;
    }
    let summary: Vec<String> = by_reason.iter().map(|(r, n)| format!("{n}× {r}")).collect();
    let details = groups
        .iter()
        .map(|((reason, obj), (n, msg))| format!("{n}× {reason} {obj}: {msg}"))
        .collect();
    CheckResult::warn(
        ID,
        format!(
            "{total} Warning events in the last {} minutes: {}",
            RECENT_SECS / 60,
            summary.join(", ")
        ),
        format!(
            "`kubectl get events -n {}{} --field-selector type=Warning --sort-by=.lastTimestamp`",
            s.namespace, s.kubectl_flags
        ),
    )
    .with_details(details)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::verify::Status;
    use crate::verify::checks::fixture;
    use k8s_openapi::api::core::v1::ObjectReference;
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;

    fn event(kind: &str, name: &str, reason: &str, age_secs: i64) -> Event {
        let t = Timestamp::from_second(Timestamp::now().as_second() - age_secs).unwrap();
        Event {
            involved_object: ObjectReference {
                kind: Some(kind.into()),
                name: Some(name.into()),
                ..Default::default()
            },
            reason: Some(reason.into()),
            message: Some("Back-off restarting failed container with password=hunter2".into()),
            type_: Some("Warning".into()),
            count: Some(3),
            last_timestamp: Some(Time(t)),
            ..Default::default()
        }
    }

    #[test]
    fn no_events_pass() {
        assert_eq!(warnings(&fixture::snapshot()).status, Status::Pass);
    }

    #[test]
    fn recent_events_for_release_pods_warn_redacted() {
        let mut s = fixture::snapshot();
        let pod = s.pods[0].metadata.name.clone().unwrap();
        s.events = Some(Ok(vec![
            event("Pod", &pod, "BackOff", 30),
            event("Pod", "other-app-1", "BackOff", 30),
            event("Pod", &pod, "Failed", 3600),
        ]));
        let r = warnings(&s);
        assert_eq!(r.status, Status::Warn);
        assert!(
            r.message.contains("3 Warning events") && r.message.contains("3× BackOff"),
            "{}",
            r.message
        );
        assert!(!r.details.join(" ").contains("hunter2"));
    }
}
