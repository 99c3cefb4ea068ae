//! todo-sandbox: a Kubernetes-API-compatible HTTPS server with simulated controllers, so the
//! plugins, kubectl and Helm can be tested end to end without a cluster.
//!
//! Start one with [`Sandbox::start`] (in the current tokio runtime) or [`Sandbox::spawn`]
//! (on its own thread, for synchronous tests). It writes a kubeconfig with the contexts
//! `todo-sandbox` (admin) and `todo-sandbox-viewer` (read-only, no Secrets).

pub mod controllers;
pub mod defaults;
pub mod objects;
pub mod patch;
pub mod proto;
pub mod resources;
pub mod scenario;
pub mod selectors;
pub mod server;
pub mod state;
pub mod status;
pub mod store;
pub mod table;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::Context;
use base64::Engine;
use hyper_util::rt::{TokioExecutor, TokioIo};
use serde_json::json;
use tokio::net::TcpListener;

pub use scenario::{Faults, Scenario};
pub use state::State;

/// A running sandbox. Dropping it stops the server and the controllers.
pub struct Sandbox {
    addr: SocketAddr,
    kubeconfig: PathBuf,
    dir: Option<tempfile::TempDir>,
    state: Arc<State>,
    admin_token: String,
    viewer_token: String,
    ca_pem: String,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

/// Where to put things.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// Port to listen on (0 or None: a free one).
    pub port: Option<u16>,
    /// Where to write the kubeconfig (default: a temporary directory removed on drop).
    pub kubeconfig: Option<PathBuf>,
}

fn random_token() -> String {
    (0..32)
        .map(|_| format!("{:x}", rand::random::<u8>() % 16))
        .collect()
}

struct Tls {
    ca_pem: String,
    cert_der: Vec<u8>,
    key_der: Vec<u8>,
}

fn make_tls() -> anyhow::Result<Tls> {
    let mut ca_params = rcgen::CertificateParams::new(Vec::<String>::new())?;
    ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    ca_params
        .distinguished_name
        .push(rcgen::DnType::CommonName, "todo-sandbox-ca");
    ca_params.key_usages = vec![
        rcgen::KeyUsagePurpose::KeyCertSign,
        rcgen::KeyUsagePurpose::CrlSign,
        rcgen::KeyUsagePurpose::DigitalSignature,
    ];
    let ca_key = rcgen::KeyPair::generate()?;
    let ca = rcgen::CertifiedIssuer::self_signed(ca_params, ca_key)?;
    let mut params = rcgen::CertificateParams::new(vec![
        "localhost".to_owned(),
        "kubernetes.default.svc".to_owned(),
    ])?;
    params
        .subject_alt_names
        .push(rcgen::SanType::IpAddress(std::net::IpAddr::V4(
            std::net::Ipv4Addr::LOCALHOST,
        )));
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, "kube-apiserver");
    params.extended_key_usages = vec![rcgen::ExtendedKeyUsagePurpose::ServerAuth];
    let key = rcgen::KeyPair::generate()?;
    let cert = params.signed_by(&key, &ca)?;
    Ok(Tls {
        ca_pem: ca.pem(),
        cert_der: cert.der().to_vec(),
        key_der: key.serialize_der(),
    })
}

fn kubeconfig_yaml(
    server: &str,
    ca_pem: &str,
    admin: &str,
    viewer: &str,
    minikube: bool,
) -> String {
    let ca = base64::engine::general_purpose::STANDARD.encode(ca_pem);
    let ext = |indent: &str| {
        if minikube {
            format!(
                "\n{indent}extensions:\n{indent}- name: context_info\n{indent}  extension:\n{indent}    provider: minikube.sigs.k8s.io\n{indent}    version: v1.36.0"
            )
        } else {
            String::new()
        }
    };
    format!(
        "apiVersion: v1\nkind: Config\ncurrent-context: todo-sandbox\npreferences: {{}}\nclusters:\n- name: todo-sandbox\n  cluster:\n    server: {server}\n    certificate-authority-data: {ca}{}\ncontexts:\n- name: todo-sandbox\n  context:\n    cluster: todo-sandbox\n    user: todo-sandbox-admin\n    namespace: default{}\n- name: todo-sandbox-viewer\n  context:\n    cluster: todo-sandbox\n    user: todo-sandbox-viewer\n    namespace: default\nusers:\n- name: todo-sandbox-admin\n  user:\n    token: {admin}\n- name: todo-sandbox-viewer\n  user:\n    token: {viewer}\n",
        ext("    "),
        ext("    ")
    )
}

fn seed_namespaces(state: &State) -> anyhow::Result<()> {
    let rt = resources::rt("v1/namespaces");
    for ns in ["default", "kube-system", "kube-public", "kube-node-lease"] {
        objects::create(state, rt, "", json!({"metadata": {"name": ns}}), false)
            .map_err(|e| anyhow::anyhow!(e.message))?;
    }
    Ok(())
}

fn seed_objects(state: &State, objects_list: &[serde_json::Value]) -> anyhow::Result<()> {
    for obj in objects_list {
        let api_version = obj["apiVersion"].as_str().unwrap_or("");
        let kind = obj["kind"].as_str().unwrap_or("");
        let rt = resources::by_kind(api_version, kind)
            .with_context(|| format!("scenario object of unknown type {api_version}/{kind}"))?;
        let ns = obj
            .pointer("/metadata/namespace")
            .and_then(|v| v.as_str())
            .unwrap_or("default")
            .to_owned();
        if rt.namespaced
            && state
                .store
                .get(&store::Key::new(resources::rt("v1/namespaces"), "", &ns))
                .is_none()
        {
            objects::create(
                state,
                resources::rt("v1/namespaces"),
                "",
                json!({"metadata": {"name": ns}}),
                false,
            )
            .map_err(|e| anyhow::anyhow!(e.message))?;
        }
        objects::create(state, rt, &ns, obj.clone(), false)
            .map_err(|e| anyhow::anyhow!("scenario object {kind}: {}", e.message))?;
    }
    Ok(())
}

impl Sandbox {
    /// Start in the current tokio runtime, on a free port, kubeconfig in a temporary dir.
    pub async fn start(scenario: Scenario) -> anyhow::Result<Sandbox> {
        Self::start_with(scenario, Options::default()).await
    }

    /// Start in the current tokio runtime with options.
    pub async fn start_with(scenario: Scenario, opts: Options) -> anyhow::Result<Sandbox> {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let listener = TcpListener::bind(("127.0.0.1", opts.port.unwrap_or(0)))
            .await
            .context("binding 127.0.0.1")?;
        let addr = listener.local_addr()?;
        let tls = make_tls()?;
        let admin_token = random_token();
        let viewer_token = random_token();
        let minikube = scenario.minikube;
        let seeds = scenario.objects.clone();
        let state = Arc::new(State::new(scenario));
        seed_namespaces(&state)?;
        controllers::seed(&state);
        seed_objects(&state, &seeds)?;

        let (dir, kubeconfig) = match opts.kubeconfig {
            Some(p) => (None, p),
            None => {
                let d = tempfile::Builder::new().prefix("todo-sandbox-").tempdir()?;
                let p = d.path().join("kubeconfig");
                (Some(d), p)
            }
        };
        let server = format!("https://127.0.0.1:{}", addr.port());
        write_private(
            &kubeconfig,
            &kubeconfig_yaml(&server, &tls.ca_pem, &admin_token, &viewer_token, minikube),
        )?;

        let mut config = rustls::ServerConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()?
        .with_no_client_auth()
        .with_single_cert(
            vec![rustls::pki_types::CertificateDer::from(
                tls.cert_der.clone(),
            )],
            rustls::pki_types::PrivateKeyDer::Pkcs8(tls.key_der.clone().into()),
        )?;
        config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
        let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
        let ctx = Arc::new(server::ServerCtx {
            admin_token: admin_token.clone(),
            viewer_token: viewer_token.clone(),
        });

        let controller_task = controllers::spawn(state.clone());
        let accept_state = state.clone();
        let accept_task = tokio::spawn(async move {
            loop {
                let Ok((tcp, _)) = listener.accept().await else {
                    continue;
                };
                if accept_state.scenario().faults.refuse_connections {
                    drop(tcp);
                    continue;
                }
                let _ = tcp.set_nodelay(true);
                let acceptor = acceptor.clone();
                let state = accept_state.clone();
                let ctx = ctx.clone();
                tokio::spawn(async move {
                    let Ok(tls) = acceptor.accept(tcp).await else {
                        return;
                    };
                    let svc = hyper::service::service_fn(move |req| {
                        server::handle(state.clone(), ctx.clone(), req)
                    });
                    let _ = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new())
                        .serve_connection(TokioIo::new(tls), svc)
                        .await;
                });
            }
        });
        Ok(Sandbox {
            addr,
            kubeconfig,
            dir,
            state,
            admin_token,
            viewer_token,
            ca_pem: tls.ca_pem,
            shutdown: None,
            thread: None,
            tasks: vec![controller_task, accept_task],
        })
    }

    /// Start on a dedicated thread with its own runtime (for synchronous tests).
    pub fn spawn(scenario: Scenario) -> anyhow::Result<Sandbox> {
        let (ready_tx, ready_rx) = std::sync::mpsc::channel();
        let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
        let thread = std::thread::Builder::new()
            .name("todo-sandbox".into())
            .spawn(move || {
                let rt = match tokio::runtime::Builder::new_multi_thread()
                    .worker_threads(2)
                    .enable_all()
                    .build()
                {
                    Ok(rt) => rt,
                    Err(e) => {
                        let _ = ready_tx.send(Err(anyhow::anyhow!(e)));
                        return;
                    }
                };
                rt.block_on(async move {
                    match Sandbox::start(scenario).await {
                        Ok(sb) => {
                            let _ = ready_tx.send(Ok(sb));
                            let _ = stop_rx.await;
                        }
                        Err(e) => {
                            let _ = ready_tx.send(Err(e));
                        }
                    }
                });
                rt.shutdown_timeout(std::time::Duration::from_millis(100));
            })?;
        let mut sb = ready_rx.recv().context("sandbox thread died")??;
        // The tasks belong to the thread's runtime, which stops when we signal it.
        sb.tasks.clear();
        sb.shutdown = Some(stop_tx);
        sb.thread = Some(thread);
        Ok(sb)
    }

    /// The kubeconfig this sandbox wrote.
    pub fn kubeconfig_path(&self) -> &Path {
        &self.kubeconfig
    }
    /// The API server URL.
    pub fn server_url(&self) -> String {
        format!("https://{}", self.addr)
    }
    /// The listening address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }
    /// The admin bearer token.
    pub fn admin_token(&self) -> &str {
        &self.admin_token
    }
    /// The viewer bearer token.
    pub fn viewer_token(&self) -> &str {
        &self.viewer_token
    }
    /// The CA certificate (PEM) that signed the server certificate.
    pub fn ca_pem(&self) -> &str {
        &self.ca_pem
    }
    /// The shared state (store, scenario), for white-box tests.
    pub fn state(&self) -> &Arc<State> {
        &self.state
    }
    /// API requests served so far (excluding the `/sandbox` test API).
    pub fn request_count(&self) -> u64 {
        self.state
            .requests
            .load(std::sync::atomic::Ordering::Relaxed)
    }
    /// Reset the request counter.
    pub fn reset_request_count(&self) {
        self.state
            .requests
            .store(0, std::sync::atomic::Ordering::Relaxed);
    }
    /// Replace the faults.
    pub fn set_faults(&self, faults: Faults) {
        self.state.scenario_mut().faults = faults;
    }
    /// Replace the reachable databases.
    pub fn set_databases(&self, dbs: Vec<String>) {
        self.state.scenario_mut().databases = dbs;
    }
    /// Keep the kubeconfig directory after drop (for `todo-sandbox up`).
    pub fn keep_files(&mut self) {
        if let Some(d) = self.dir.take() {
            let _ = d.keep();
        }
    }
}

impl Drop for Sandbox {
    fn drop(&mut self) {
        for t in &self.tasks {
            t.abort();
        }
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// Write `text` to `path` with mode 0600 (it holds bearer tokens).
fn write_private(path: &Path, text: &str) -> anyhow::Result<()> {
    use std::io::Write;
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent)?;
    }
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    let mut f = opts
        .open(path)
        .with_context(|| format!("writing {}", path.display()))?;
    f.write_all(text.as_bytes())?;
    Ok(())
}
