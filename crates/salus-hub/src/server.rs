//! Starting the hub: database, CA, coordinator, the TLS accept loop and the ticker.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use hyper_util::rt::{TokioExecutor, TokioIo};
use tokio::net::TcpListener;
use tokio::sync::watch;
use tower::ServiceExt;

use crate::api::{AppState, PeerCert, router};
use crate::audit::AuditLog;
use crate::ca::Ca;
use crate::coordinator::{Coordinator, SessionFactory};
use crate::store::Store;
use crate::{HubConfig, HubError};

/// A running hub.
pub struct RunningHub {
    pub addr: SocketAddr,
    pub ca: Arc<Ca>,
    pub coordinator: Arc<Coordinator>,
    shutdown: watch::Sender<bool>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl std::fmt::Debug for RunningHub {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RunningHub")
            .field("addr", &self.addr)
            .finish_non_exhaustive()
    }
}

impl RunningHub {
    /// The hub's base URL.
    pub fn url(&self) -> String {
        format!("https://{}", self.addr)
    }

    /// Stops accepting connections and stops the coordinator (like a crash, state is
    /// whatever was committed).
    pub async fn stop(self) {
        let _ = self.shutdown.send(true);
        for t in self.tasks {
            t.abort();
            let _ = t.await;
        }
    }
}

/// Opens the database (running migrations) at the configured URL.
pub async fn open_store(config: &HubConfig) -> Result<Store, HubError> {
    std::fs::create_dir_all(&config.data_dir).map_err(|e| HubError::io(&config.data_dir, e))?;
    Store::open(
        &config.database_url(),
        AuditLog::load_or_create_key(&config.data_dir)?,
    )
    .await
}

/// Starts the hub on `listen` (port 0 picks a free port).
pub async fn start(
    config: &HubConfig,
    listen: SocketAddr,
    hostnames: &[String],
    sessions: SessionFactory,
) -> Result<RunningHub, HubError> {
    let store = Arc::new(open_store(config).await?);
    let log_verifier = Arc::new(store.audit.verifier());
    let ca = Arc::new(Ca::load_or_create(&config.data_dir, hostnames)?);
    let coordinator = Arc::new(Coordinator::new(
        store,
        Duration::from_secs(config.round_timeout_secs),
        sessions,
    ));
    coordinator.resume().await?;
    let (chain, key) = ca.server_identity();
    let tls = salus_net::tls::server_config(chain, key, ca.cert_pem())?;
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(tls));
    let listener = TcpListener::bind(listen).await.map_err(|e| HubError::Io {
        path: listen.to_string(),
        source: e,
    })?;
    let addr = listener.local_addr().map_err(|e| HubError::Io {
        path: listen.to_string(),
        source: e,
    })?;
    let state = AppState {
        ca: ca.clone(),
        coordinator: coordinator.clone(),
        log_verifier,
    };
    let app = router(state);
    let (shutdown, rx) = watch::channel(false);
    let accept = tokio::spawn(accept_loop(listener, acceptor, app, rx.clone()));
    let ticker = tokio::spawn(tick_loop(coordinator.clone(), rx));
    Ok(RunningHub {
        addr,
        ca,
        coordinator,
        shutdown,
        tasks: vec![accept, ticker],
    })
}

async fn tick_loop(coordinator: Arc<Coordinator>, mut stop: watch::Receiver<bool>) {
    let mut interval = tokio::time::interval(Duration::from_millis(200));
    loop {
        tokio::select! {
            _ = interval.tick() => {
                if let Err(e) = coordinator.tick().await {
                    tracing::error!(error = %e, "coordinator tick failed");
                }
            }
            _ = stop.changed() => return,
        }
    }
}

async fn accept_loop(
    listener: TcpListener,
    acceptor: tokio_rustls::TlsAcceptor,
    app: axum::Router,
    mut stop: watch::Receiver<bool>,
) {
    loop {
        let (tcp, peer) = tokio::select! {
            r = listener.accept() => match r {
                Ok(x) => x,
                Err(e) => {
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            _ = stop.changed() => return,
        };
        let acceptor = acceptor.clone();
        let app = app.clone();
        let mut stop = stop.clone();
        tokio::spawn(async move {
            let tls =
                match tokio::time::timeout(Duration::from_secs(10), acceptor.accept(tcp)).await {
                    Ok(Ok(s)) => s,
                    Ok(Err(e)) => {
                        tracing::debug!(%peer, error = %e, "TLS handshake failed");
                        return;
                    }
                    Err(_) => return,
                };
            let cert = PeerCert(
                tls.get_ref()
                    .1
                    .peer_certificates()
                    .and_then(|c| c.first())
                    .map(|c| c.to_vec()),
            );
            let service = hyper::service::service_fn(
                move |mut req: hyper::Request<hyper::body::Incoming>| {
                    req.extensions_mut().insert(cert.clone());
                    app.clone().oneshot(req)
                },
            );
            let builder = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new());
            let conn = builder.serve_connection(TokioIo::new(tls), service);
            tokio::select! {
                r = conn => if let Err(e) = r { tracing::debug!(%peer, error = %e, "connection ended with an error"); },
                _ = stop.changed() => {}
            }
        });
    }
}
