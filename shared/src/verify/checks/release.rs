//! `release.status`: the latest revision of the Helm release is deployed.

use crate::verify::CheckResult;
use crate::verify::collect::Snapshot;

const ID: &str = "release.status";

/// deployed passes; failed, pending-* and anything else fail; an unreadable record (403 with
/// `--release`) warns.
pub fn status(s: &Snapshot) -> CheckResult {
    let r = match &s.release {
        Ok(r) => r,
        Err(u) => {
            return CheckResult::warn(
                ID,
                format!("cannot read the Helm release record: {}", u.message),
                u.hint.clone().unwrap_or_else(|| {
                    "ask for permission to read Secrets in the namespace".into()
                }),
            );
        }
    };
    let (name, ns, hf) = (&r.name, &s.namespace, &s.helm_flags);
    let what = format!(
        "revision {} of chart {}-{}{}",
        r.revision,
        r.chart_name,
        r.chart_version,
        if r.app_version.is_empty() {
            String::new()
        } else {
            format!(" (app {})", r.app_version)
        }
    );
    match r.status.as_str() {
        "deployed" => CheckResult::pass(ID, format!("{what} is deployed")),
        "failed" => CheckResult::fail(
            ID,
            format!("{what} failed: {}", r.description),
            format!(
                "`helm history {name} -n {ns}{hf}` shows what failed; fix it and `{}`, or go back with `helm rollback {name} -n {ns}{hf}`",
                s.helm_upgrade("")
            ),
        ),
        pending if pending.starts_with("pending") => CheckResult::fail(
            ID,
            format!("{what} is {pending}: an operation is running or was interrupted"),
            format!(
                "wait for it; if it was interrupted, `helm rollback {name} -n {ns}{hf}` unlocks the release"
            ),
        ),
        other => CheckResult::fail(
            ID,
            format!("{what} is {other:?}, not deployed"),
            format!("`helm history {name} -n {ns}{hf}` shows the release's revisions"),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::verify::Status;
    use crate::verify::checks::fixture;
    use crate::verify::collect::Unread;

    #[test]
    fn deployed_passes_with_revision_chart_and_app_version() {
        let r = status(&fixture::snapshot());
        assert_eq!(r.status, Status::Pass);
        assert!(
            r.message.contains("revision 2")
                && r.message.contains("todo-chatbot-0.1.0")
                && r.message.contains("app 1.0.0")
        );
    }

    #[test]
    fn failed_and_pending_fail_with_helm_hints() {
        let mut s = fixture::snapshot();
        s.release.as_mut().unwrap().status = "failed".into();
        let r = status(&s);
        assert_eq!(r.status, Status::Fail);
        let hint = r.hint.unwrap();
        assert!(hint.contains("helm rollback todo -n todo"), "{hint}");
        // The upgrade is a whole command, not a bare `helm upgrade`.
        assert!(
            hint.contains(&format!("`{}`", s.helm_upgrade(""))),
            "{hint}"
        );
        assert!(
            hint.contains("`helm upgrade todo charts/todo-chatbot -n todo"),
            "{hint}"
        );
        s.release.as_mut().unwrap().status = "pending-upgrade".into();
        assert_eq!(status(&s).status, Status::Fail);
    }

    #[test]
    fn unreadable_record_warns() {
        let mut s = fixture::snapshot();
        s.release = Err(Unread {
            message: "forbidden: cannot list secrets".into(),
            hint: None,
            forbidden: true,
        });
        let r = status(&s);
        assert_eq!(r.status, Status::Warn);
        assert!(r.message.contains("list secrets"));
    }
}
