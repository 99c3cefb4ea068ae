//! The scale's API step: find the Deployments, read HPAs and node capacity, patch the
//! HPA, send the scale (with conflict retries), diagnose the pods. Decisions are in
//! [`super::plan`]; these functions only talk to the API server.

use super::*;

/// The release a component target belongs to: `--release`, else the one the Deployments'
/// labels name (no need to read Helm's Secrets), else Helm's own record (unlabelled
/// objects, fullnameOverride), which is returned too when it was read.
async fn release_of(
    cluster: &Cluster,
    flag: Option<&str>,
    deployments: &[Deployment],
) -> Result<(String, Option<crate::release::Release>), ScaleError> {
    let releases = target::releases_of(deployments);
    match crate::release::choose(flag, &releases, &cluster.namespace) {
        Ok(r) => Ok((r, None)),
        Err(e @ ReleaseError::NotFound { .. }) => match crate::release::find(cluster, None).await {
            Ok(rel) => Ok((rel.name.clone(), Some(rel))),
            // Helm's records say more (other releases here, the namespaces where one is).
            Err(found @ ReleaseError::NotFound { .. }) => Err(found.into()),
            Err(_) => Err(e.for_user(cluster).into()),
        },
        Err(e) => Err(e.for_user(cluster).into()),
    }
}

/// Find the Deployments the target names (one list call).
pub(super) async fn resolve(
    cluster: &Cluster,
    api: &Api<Deployment>,
    req: &ScaleRequest,
) -> Result<Vec<Resolved>, ScaleError> {
    let ns = cluster.namespace.as_str();
    let action = Action::new("list", "deployments", Some(ns));
    let params = ListParams::default();
    let list = retry(|| api.list(&params))
        .await
        .map_err(|e| cluster.error(&action, e))?;
    let deployments = list.items;
    let of = |d: &Deployment| Resolved {
        deployment: d.clone(),
        name: d.metadata.name.clone().unwrap_or_default(),
        component: target::label(d, chart::LABEL_COMPONENT).and_then(Component::from_name),
        release: target::label(d, chart::LABEL_INSTANCE)
            .filter(|_| target::label(d, chart::LABEL_NAME).is_none_or(|n| n == chart::CHART_NAME))
            .map(str::to_owned),
    };
    match &req.target {
        Target::Deployment(name) => {
            let d = deployments
                .iter()
                .find(|d| d.metadata.name.as_deref() == Some(name.as_str()))
                .ok_or_else(|| ScaleError::NoSuchTarget {
                    name: name.clone(),
                    namespace: ns.to_owned(),
                    suggestion: target::suggest(name, &deployments),
                    flags: String::new(),
                })?;
            Ok(vec![of(d)])
        }
        target => {
            let (release, mut helm_release) =
                release_of(cluster, req.release.as_deref(), &deployments).await?;
            let mut out = Vec::new();
            for c in target.components() {
                let mut found = target::find_component(&deployments, &release, c);
                if found.is_none() {
                    if helm_release.is_none() {
                        helm_release = crate::release::find(cluster, Some(&release)).await.ok();
                    }
                    if let Some(rel) = &helm_release {
                        let name = rel.names().workload(c);
                        found = deployments
                            .iter()
                            .find(|d| d.metadata.name.as_deref() == Some(name.as_str()));
                    }
                }
                let d = found.ok_or_else(|| ScaleError::ComponentNotFound {
                    release: release.clone(),
                    component: c.name(),
                    namespace: ns.to_owned(),
                    flags: String::new(),
                })?;
                let mut r = of(d);
                r.component = Some(c);
                r.release = Some(release.clone());
                out.push(r);
            }
            Ok(out)
        }
    }
}

/// The HPAs of the namespace. An error is returned as a warning text: not being able to
/// look must not block a scale, but the user should know we did not check.
pub(super) async fn list_hpas(cluster: &Cluster) -> Result<Vec<HorizontalPodAutoscaler>, String> {
    let api: Api<HorizontalPodAutoscaler> =
        Api::namespaced(cluster.client.clone(), &cluster.namespace);
    let params = ListParams::default();
    match retry(|| api.list(&params)).await {
        Ok(list) => Ok(list.items),
        Err(kube::Error::Api(s)) if s.code == 404 => Ok(Vec::new()),
        Err(e) => {
            let action = Action::new("list", "horizontalpodautoscalers", Some(&cluster.namespace));
            Err(format!(
                "could not check for HorizontalPodAutoscalers: {}",
                cluster.error(&action, e)
            ))
        }
    }
}

/// Nodes and every pod of the cluster, reduced to each node's free room, and the images the
/// nodes hold.
pub(super) async fn read_capacity(
    cluster: &Cluster,
) -> Result<(Vec<quantity::NodeRoom>, Vec<String>), String> {
    let nodes: Api<Node> = Api::all(cluster.client.clone());
    let pods: Api<Pod> = Api::all(cluster.client.clone());
    let running = ListParams::default().fields("status.phase!=Succeeded,status.phase!=Failed");
    let all = ListParams::default();
    let (nodes, pods) = futures::join!(nodes.list(&all), pods.list(&running));
    let nodes = nodes.map_err(|e| format!("cannot list nodes: {e}"))?;
    let pods = pods.map_err(|e| format!("cannot list pods in all namespaces: {e}"))?;
    Ok((
        quantity::node_rooms(&nodes.items, &pods.items),
        crate::image::held_by(&nodes.items),
    ))
}

/// `--persist`, prepared before any change (so a missing helm or chart fails first): the
/// helm binary, the `helm upgrade` arguments and the other components the upgrade would
/// move, each kept live (an extra `--set`) unless `--reset-others` or a "no" at the prompt.
pub(super) async fn prepare_persist(
    cluster: &Cluster,
    req: &ScaleRequest,
    resolved: &[Resolved],
    ui: &dyn Ui,
) -> Result<PersistCall, ScaleError> {
    let ns = cluster.namespace.as_str();
    let mut counts = Vec::new();
    let mut release = None;
    for r in resolved {
        match (&r.release, r.component) {
            (Some(rel), Some(c)) => {
                release = Some(rel.clone());
                counts.push((c, req.replicas));
            }
            _ => {
                return Err(ScaleError::PersistNeedsComponent {
                    deployment: r.name.clone(),
                });
            }
        }
    }
    let release = release.ok_or_else(|| ScaleError::PersistNeedsComponent {
        deployment: String::new(),
    })?;
    let cwd = std::env::current_dir().unwrap_or_else(|_| std::path::PathBuf::from("."));
    let env_chart = std::env::var("TODO_CHART").ok();
    let chart = persist::chart_ref(req.chart.as_deref(), env_chart.as_deref(), &cwd)?;
    let helm = persist::find_helm()?;
    let scaled: Vec<Component> = counts.iter().map(|(c, _)| *c).collect();
    let mut others = others_of_release(cluster, &release, &scaled).await?;
    decide_others(&mut others, req, ui)?;
    let mut args = persist::upgrade_args(&release, &chart, &req.kube, ns, &counts, false);
    args.extend(persist::keep_args(&others));
    Ok(PersistCall { helm, args, others })
}

/// The prepared `--persist` call.
pub(super) struct PersistCall {
    pub helm: std::path::PathBuf,
    pub args: Vec<String>,
    pub others: Vec<persist::OtherComponent>,
}

/// The release's other components whose live count differs from the release's record (one
/// Deployment list by the release's labels, one read of the release).
async fn others_of_release(
    cluster: &Cluster,
    release: &str,
    scaled: &[Component],
) -> Result<Vec<persist::OtherComponent>, ScaleError> {
    if Component::ALL.iter().all(|c| scaled.contains(c)) {
        return Ok(Vec::new());
    }
    let ns = cluster.namespace.as_str();
    let api: Api<Deployment> = Api::namespaced(cluster.client.clone(), ns);
    let params = ListParams::default().labels(&chart::release_selector(release));
    let action = Action::new("list", "deployments", Some(ns));
    let list = retry(|| api.list(&params))
        .await
        .map_err(|e| cluster.error(&action, e))?;
    let live: Vec<(Component, String, i32)> = list
        .items
        .iter()
        .filter_map(|d| {
            let c = target::label(d, chart::LABEL_COMPONENT).and_then(Component::from_name)?;
            let n = crate::rollout::replicas(d).desired;
            Some((c, d.metadata.name.clone().unwrap_or_default(), n))
        })
        .collect();
    let record = crate::release::find(cluster, Some(release)).await?;
    Ok(persist::others_drifted(
        &live,
        |c| persist::recorded_replicas(&record, c),
        scaled,
    ))
}

/// Keep or reset each other component: `--reset-others` resets them all; on a terminal
/// (without `--yes`) each is asked, keeping by default; otherwise they are kept. Each
/// decision is shown.
fn decide_others(
    others: &mut [persist::OtherComponent],
    req: &ScaleRequest,
    ui: &dyn Ui,
) -> Result<(), ScaleError> {
    if others.is_empty() {
        return Ok(());
    }
    ui.note(
        "the helm upgrade re-renders every component; live counts that differ from the release:",
    );
    for o in others.iter_mut() {
        o.kept = if req.reset_others {
            false
        } else if ui.can_prompt() && !req.assume_yes {
            ui.confirm(
                &format!(
                    "Keep {} at its live {} replicas (no: the upgrade resets it to {})?",
                    o.component, o.live, o.release
                ),
                true,
            )?
        } else {
            true
        };
        ui.note(&format!("  {}", persist::other_line(o)));
    }
    Ok(())
}

/// Move the HPA's bounds (merge patch); nothing is sent with `--dry-run=client`.
pub(super) async fn patch_hpa(
    cluster: &Cluster,
    after: &HpaBounds,
    dry_run: DryRun,
) -> Result<(), ScaleError> {
    if dry_run == DryRun::Client {
        return Ok(());
    }
    let api: Api<HorizontalPodAutoscaler> =
        Api::namespaced(cluster.client.clone(), &cluster.namespace);
    let mut params = PatchParams {
        field_manager: Some(FIELD_MANAGER.into()),
        ..Default::default()
    };
    params.dry_run = dry_run == DryRun::Server;
    let patch = Patch::Merge(hpa::bounds_patch(after));
    let action = Action::new(
        "patch",
        "horizontalpodautoscalers",
        Some(&cluster.namespace),
    )
    .named(&after.name);
    retry(|| api.patch(&after.name, &params, &patch))
        .await
        .map_err(|e| cluster.error(&action, e))?;
    Ok(())
}

/// GET the scale subresource, set `spec.replicas`, PUT it back with the resourceVersion
/// read; a 409 Conflict means someone else wrote in between: re-read and retry, up to
/// [`CONFLICT_ATTEMPTS`] times. Returns the count before and the conflicts retried. With
/// `--dry-run=server` the PUT carries `dryRun=All`; with `client` only the GET is sent.
pub(super) async fn apply_scale(
    cluster: &Cluster,
    api: &Api<Deployment>,
    name: &str,
    n: i32,
    dry_run: DryRun,
) -> Result<(i32, u32), ScaleError> {
    let ns = cluster.namespace.as_str();
    let params = PostParams {
        dry_run: dry_run == DryRun::Server,
        field_manager: Some(FIELD_MANAGER.into()),
    };
    let mut conflicts = 0;
    loop {
        let get_action = Action::new("get", "deployments/scale", Some(ns)).named(name);
        let scale = match retry(|| api.get_scale(name)).await {
            Ok(s) => s,
            Err(kube::Error::Api(s)) if s.code == 409 && conflicts + 1 < CONFLICT_ATTEMPTS => {
                conflicts += 1;
                continue;
            }
            Err(e) => return Err(cluster.error(&get_action, e).into()),
        };
        let from = scale.spec.as_ref().and_then(|s| s.replicas).unwrap_or(0);
        if dry_run == DryRun::Client {
            return Ok((from, conflicts));
        }
        let mut desired = scale.clone();
        desired.spec.get_or_insert_with(Default::default).replicas = Some(n);
        desired.status = None;
        let put_action = Action::new("update", "deployments/scale", Some(ns)).named(name);
        match retry(|| api.replace_scale(name, &params, &desired)).await {
            Ok(_) => return Ok((from, conflicts)),
            Err(kube::Error::Api(s)) if s.code == 409 => {
                conflicts += 1;
                tracing::debug!(
                    conflicts,
                    "409 Conflict on deployments/scale {name}, re-reading"
                );
                if conflicts >= CONFLICT_ATTEMPTS {
                    return Err(ScaleError::Conflict {
                        deployment: name.to_owned(),
                        attempts: conflicts,
                        flags: String::new(),
                    });
                }
            }
            Err(e) => return Err(cluster.error(&put_action, e).into()),
        }
    }
}

/// Why the Deployment's pods are unhealthy, through the diagnosis verify gives, with the
/// last (redacted) log lines of crashing containers.
pub(super) async fn diagnose_deployment(
    cluster: &Cluster,
    r: &Resolved,
    d: &Deployment,
    plan: &Plan,
) -> Vec<PodProblem> {
    let Some(selector) = d
        .spec
        .as_ref()
        .and_then(|s| s.selector.match_labels.as_ref())
        .map(|m| {
            m.iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect::<Vec<_>>()
                .join(",")
        })
    else {
        return Vec::new();
    };
    let pods: Api<Pod> = Api::namespaced(cluster.client.clone(), &cluster.namespace);
    let list = match pods.list(&ListParams::default().labels(&selector)).await {
        Ok(list) => list.items,
        Err(e) => {
            tracing::debug!("cannot list pods for the diagnosis: {e}");
            return Vec::new();
        }
    };
    // The hints' commands act where the scale did, as the user who ran it.
    let (kubectl_flags, helm_flags) = (cluster.context_flags(), cluster.helm_flags());
    // The undo of a bad image names the component's Deployment by the release's full name.
    let names = r
        .component
        .and_then(|c| chart::ObjectNames::of_workload(&r.name, c));
    let ctx = diagnose::HintContext {
        allocatable: &plan.allocatable,
        node_images: &plan.node_images,
        fullname: names.as_ref().map(|n| n.fullname.as_str()),
        kubectl_flags: &kubectl_flags,
        helm_flags: &helm_flags,
        ..diagnose::HintContext::platform(&cluster.platform)
    };
    let mut problems = diagnose::pod_problems_in(&list, &ctx);
    for p in problems.iter_mut().filter(|p| p.wants_logs()) {
        let params = LogParams {
            container: Some(p.container.clone()),
            tail_lines: Some(5),
            ..Default::default()
        };
        if let Ok(text) = pods.logs(&p.pod, &params).await {
            p.log_tail = text.lines().map(crate::redact::sanitize).collect();
        }
    }
    problems
}
