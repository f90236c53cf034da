//! A typed JSON client for the hub API.

use std::time::Duration;

use serde::Serialize;
use serde::de::DeserializeOwned;

use salus_wire::{API_PREFIX, ApiError};

use crate::{NetError, tls};

/// A client bound to one hub, with a TLS identity (node) or a bearer token (people).
#[derive(Debug, Clone)]
pub struct HubClient {
    base: String,
    http: reqwest::Client,
    bearer: Option<String>,
}

/// How a client authenticates.
#[derive(Debug, Clone)]
pub enum Credentials<'a> {
    /// A node: its certificate and key (PEM).
    Node { cert_pem: &'a str, key_pem: &'a str },
    /// A researcher or admin API token.
    Token(&'a str),
    /// Nothing (enrollment, health).
    Anonymous,
}

impl HubClient {
    /// A client for the hub at `base_url` (e.g. `https://127.0.0.1:8443`), trusting `ca_pem`.
    pub fn new(
        base_url: &str,
        ca_pem: &str,
        credentials: Credentials<'_>,
    ) -> Result<Self, NetError> {
        let (identity, bearer) = match credentials {
            Credentials::Node { cert_pem, key_pem } => (Some((cert_pem, key_pem)), None),
            Credentials::Token(t) => (None, Some(t.to_string())),
            Credentials::Anonymous => (None, None),
        };
        let config = tls::client_config(ca_pem, identity)?;
        Self::with_config(base_url, config, bearer)
    }

    fn with_config(
        base_url: &str,
        config: rustls::ClientConfig,
        bearer: Option<String>,
    ) -> Result<Self, NetError> {
        let http = reqwest::Client::builder()
            .tls_backend_preconfigured(config)
            .connect_timeout(Duration::from_secs(10))
            .timeout(Duration::from_secs(120))
            .pool_idle_timeout(Duration::from_secs(30))
            .build()
            .map_err(|e| NetError::Tls(e.to_string()))?;
        Ok(HubClient {
            base: base_url.trim_end_matches('/').to_string(),
            http,
            bearer,
        })
    }

    /// Fetches the hub's CA certificate over an unverified connection and checks it
    /// against the fingerprint pinned in an invite. Returns the CA PEM.
    pub async fn fetch_pinned_ca(
        base_url: &str,
        expected_fingerprint: &str,
    ) -> Result<String, NetError> {
        let client = Self::with_config(base_url, tls::bootstrap_client_config()?, None)?;
        let pem = client.get_text("/ca").await?;
        let actual = tls::fingerprint_pem(&pem)?;
        if !actual.eq_ignore_ascii_case(expected_fingerprint) {
            return Err(NetError::FingerprintMismatch {
                expected: expected_fingerprint.to_string(),
                actual,
            });
        }
        Ok(pem)
    }

    /// The hub's base URL.
    pub fn base_url(&self) -> &str {
        &self.base
    }

    fn url(&self, path: &str) -> String {
        format!("{}{API_PREFIX}{path}", self.base)
    }

    fn authorize(&self, req: reqwest::RequestBuilder) -> reqwest::RequestBuilder {
        match &self.bearer {
            Some(t) => req.bearer_auth(t),
            None => req,
        }
    }

    /// `GET` a JSON resource.
    pub async fn get<T: DeserializeOwned>(&self, path: &str) -> Result<T, NetError> {
        let req = self.authorize(self.http.get(self.url(path)));
        self.send(req, path).await
    }

    /// `GET` with a longer timeout (long polling).
    pub async fn get_with_timeout<T: DeserializeOwned>(
        &self,
        path: &str,
        timeout: Duration,
    ) -> Result<T, NetError> {
        let req = self.authorize(self.http.get(self.url(path)).timeout(timeout));
        self.send(req, path).await
    }

    /// `GET` plain text.
    pub async fn get_text(&self, path: &str) -> Result<String, NetError> {
        let url = self.url(path);
        let resp = self
            .authorize(self.http.get(&url))
            .send()
            .await
            .map_err(|e| unreachable(&url, &e))?;
        let status = resp.status();
        let body = resp.text().await.map_err(|e| unreachable(&url, &e))?;
        if !status.is_success() {
            return Err(api_error(status.as_u16(), &body));
        }
        Ok(body)
    }

    /// `POST` a JSON body and decode the JSON answer.
    pub async fn post<B: Serialize + ?Sized, T: DeserializeOwned>(
        &self,
        path: &str,
        body: &B,
    ) -> Result<T, NetError> {
        let req = self.authorize(self.http.post(self.url(path)).json(body));
        self.send(req, path).await
    }

    async fn send<T: DeserializeOwned>(
        &self,
        req: reqwest::RequestBuilder,
        path: &str,
    ) -> Result<T, NetError> {
        let url = self.url(path);
        let resp = req.send().await.map_err(|e| unreachable(&url, &e))?;
        let status = resp.status();
        let bytes = resp.bytes().await.map_err(|e| unreachable(&url, &e))?;
        if !status.is_success() {
            return Err(api_error(status.as_u16(), &String::from_utf8_lossy(&bytes)));
        }
        serde_json::from_slice(&bytes).map_err(|e| NetError::Protocol(format!("{path}: {e}")))
    }
}

fn unreachable(url: &str, e: &reqwest::Error) -> NetError {
    // reqwest's Display hides the cause (TLS alerts, refused connections): walk it.
    let mut message = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        message.push_str(": ");
        message.push_str(&s.to_string());
        source = s.source();
    }
    NetError::Unreachable {
        url: url.to_string(),
        message,
    }
}

fn api_error(status: u16, body: &str) -> NetError {
    match serde_json::from_str::<ApiError>(body) {
        Ok(e) => NetError::Api {
            status,
            code: Some(e.code),
            message: e.error,
        },
        Err(_) => NetError::Api {
            status,
            code: None,
            message: body.chars().take(500).collect(),
        },
    }
}
