//! todo-sandbox: a Kubernetes-API-compatible HTTPS server with simulated controllers, so the
//! plugins, kubectl and Helm can be tested end to end without a cluster. See README.md for
//! where each Kubernetes behaviour lives.
//!
//! Start one with [`Sandbox::start`] (in the current tokio runtime) or [`Sandbox::spawn`]
//! (on its own thread, for synchronous tests). It writes a kubeconfig with the contexts
//! `todo-sandbox` (admin) and `todo-sandbox-viewer` (read-only, no Secrets).

pub mod addons;
pub mod apiserver;
pub mod apps;
pub mod bootstrap;
pub mod controllers;
pub mod events;
pub mod faults;
pub mod fields;
pub mod kubeconfig;
pub mod network;
pub mod node;
pub mod quantity;
pub mod resources;
pub mod scenario;
pub mod selectors;
pub mod state;
pub mod storage;
#[cfg(test)]
mod test_support;
pub mod tls;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::Context;
use hyper_util::rt::{TokioExecutor, TokioIo};
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

/// Accept connections until the task is aborted: TLS, then HTTP/1.1 or h2, each request to
/// [`apiserver::handle`].
async fn serve(
    listener: TcpListener,
    acceptor: tokio_rustls::TlsAcceptor,
    state: Arc<State>,
    ctx: Arc<apiserver::ServerCtx>,
) {
    loop {
        let Ok((tcp, _)) = listener.accept().await else {
            continue;
        };
        if faults::refuses_connections(&state) {
            drop(tcp);
            continue;
        }
        let _ = tcp.set_nodelay(true);
        let acceptor = acceptor.clone();
        let state = state.clone();
        let ctx = ctx.clone();
        tokio::spawn(async move {
            let Ok(tls) = acceptor.accept(tcp).await else {
                return;
            };
            let svc = hyper::service::service_fn(move |req| {
                apiserver::handle(state.clone(), ctx.clone(), req)
            });
            let _ = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new())
                .serve_connection(TokioIo::new(tls), svc)
                .await;
        });
    }
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
        let tls = tls::make_tls()?;
        let ctx = Arc::new(apiserver::ServerCtx {
            admin_token: kubeconfig::random_token(),
            viewer_token: kubeconfig::random_token(),
        });
        let minikube = scenario.minikube;
        let seeds = scenario.objects.clone();
        let state = Arc::new(State::new(scenario));
        bootstrap::bootstrap(&state, &seeds)?;

        let (dir, kubeconfig) = match opts.kubeconfig {
            Some(p) => (None, p),
            None => {
                let d = tempfile::Builder::new().prefix("todo-sandbox-").tempdir()?;
                let p = d.path().join("kubeconfig");
                (Some(d), p)
            }
        };
        let server = format!("https://127.0.0.1:{}", addr.port());
        let text = kubeconfig::kubeconfig_yaml(
            &server,
            &tls.ca_pem,
            &ctx.admin_token,
            &ctx.viewer_token,
            minikube,
        );
        kubeconfig::write_private(&kubeconfig, &text)?;

        let acceptor = tls::acceptor(&tls)?;
        let controller_task = controllers::spawn(state.clone());
        let accept_task = tokio::spawn(serve(listener, acceptor, state.clone(), ctx.clone()));
        Ok(Sandbox {
            addr,
            kubeconfig,
            dir,
            state,
            admin_token: ctx.admin_token.clone(),
            viewer_token: ctx.viewer_token.clone(),
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
