//! The node's identity: an Ed25519 key (also used to sign protocol messages and audit
//! cosignatures), the certificate the hub CA issued, and the CA itself.
//!
//! Invites look like `SLS1.<secret>.<ca-fingerprint>`: the node fetches the hub's CA
//! over an unverified connection, checks it against the pinned fingerprint, and only
//! then sends the secret over a connection verified with that CA.

use std::path::Path;

use rcgen::{CertificateParams, KeyPair, PKCS_ED25519};
use serde::{Deserialize, Serialize};

use salus_net::client::{Credentials, HubClient};
use salus_wire::{EnrollRequest, EnrollResponse};

use crate::{NodeConfig, NodeError};

/// The public facts of an enrolled node (`node.json`).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct NodeInfo {
    pub hub_url: String,
    pub node_id: String,
    pub name: String,
    pub organisation: String,
    /// Verifier of the hub's audit-log checkpoint key.
    #[serde(default)]
    pub log_verifier: String,
}

/// Everything needed to talk to the hub as this node.
#[derive(Clone)]
pub struct Identity {
    pub info: NodeInfo,
    pub key_pem: String,
    pub cert_pem: String,
    pub ca_pem: String,
}

impl std::fmt::Debug for Identity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Identity")
            .field("info", &self.info)
            .finish_non_exhaustive()
    }
}

/// An invite token's parts.
#[derive(Debug, Clone)]
pub struct Invite {
    pub secret: String,
    pub ca_fingerprint: String,
}

impl Invite {
    /// Formats an invite from its parts.
    pub fn format(secret: &str, ca_fingerprint: &str) -> String {
        format!("SLS1.{secret}.{ca_fingerprint}")
    }

    /// Parses `SLS1.<secret>.<fingerprint>`.
    pub fn parse(token: &str) -> Result<Invite, NodeError> {
        let bad = || {
            NodeError::Invalid("the invite token is malformed: expected `SLS1.<secret>.<fingerprint>` as printed by `salus hub invite`".into())
        };
        let mut parts = token.trim().split('.');
        if parts.next() != Some("SLS1") {
            return Err(bad());
        }
        let secret = parts.next().filter(|s| !s.is_empty()).ok_or_else(bad)?;
        let fp = parts
            .next()
            .filter(|f| f.len() == 64 && f.chars().all(|c| c.is_ascii_hexdigit()))
            .ok_or_else(bad)?;
        if parts.next().is_some() {
            return Err(bad());
        }
        Ok(Invite {
            secret: secret.to_string(),
            ca_fingerprint: fp.to_ascii_lowercase(),
        })
    }
}

fn write_file(path: &Path, contents: &str, private: bool) -> Result<(), NodeError> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let tmp = path.with_extension("partial");
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .write(true)
        .truncate(true)
        .mode(if private { 0o600 } else { 0o644 })
        .open(&tmp)
        .map_err(|e| NodeError::io(&tmp, e))?;
    f.write_all(contents.as_bytes())
        .map_err(|e| NodeError::io(&tmp, e))?;
    f.sync_all().map_err(|e| NodeError::io(&tmp, e))?;
    std::fs::rename(&tmp, path).map_err(|e| NodeError::io(path, e))
}

fn read(path: &Path) -> Result<String, NodeError> {
    std::fs::read_to_string(path).map_err(|e| NodeError::io(path, e))
}

/// Enrolls with the hub: new key, pinned CA, signed certificate, files written last
/// (a failed enrollment leaves no half-enrolled node behind).
pub async fn enroll(
    config: &NodeConfig,
    hub_url: &str,
    token: &str,
    name: &str,
) -> Result<Identity, NodeError> {
    if config.data_dir.join("node.json").exists() {
        return Err(NodeError::Invalid(format!(
            "{} already holds an enrolled node; use another --data-dir",
            config.data_dir.display()
        )));
    }
    let invite = Invite::parse(token)?;
    let ca_pem = HubClient::fetch_pinned_ca(hub_url, &invite.ca_fingerprint).await?;
    let key =
        KeyPair::generate_for(&PKCS_ED25519).map_err(|e| NodeError::Invalid(e.to_string()))?;
    let csr = CertificateParams::new(Vec::<String>::new())
        .and_then(|p| p.serialize_request(&key))
        .and_then(|c| c.pem())
        .map_err(|e| NodeError::Invalid(e.to_string()))?;
    let client = HubClient::new(hub_url, &ca_pem, Credentials::Anonymous)?;
    let resp: EnrollResponse = client
        .post(
            "/enroll",
            &EnrollRequest {
                token: invite.secret,
                name: name.to_string(),
                csr_pem: csr,
            },
        )
        .await?;
    let identity = Identity {
        info: NodeInfo {
            hub_url: hub_url.trim_end_matches('/').to_string(),
            node_id: resp.node_id,
            name: resp.name,
            organisation: resp.organisation,
            log_verifier: resp.log_verifier,
        },
        key_pem: key.serialize_pem(),
        cert_pem: resp.cert_pem,
        ca_pem: resp.ca_pem,
    };
    save(config, &identity)?;
    Ok(identity)
}

fn save(config: &NodeConfig, id: &Identity) -> Result<(), NodeError> {
    let dir = &config.data_dir;
    std::fs::create_dir_all(dir).map_err(|e| NodeError::io(dir, e))?;
    write_file(&dir.join("node.key"), &id.key_pem, true)?;
    write_file(&dir.join("node.pem"), &id.cert_pem, false)?;
    write_file(&dir.join("ca.pem"), &id.ca_pem, false)?;
    let info =
        serde_json::to_string_pretty(&id.info).map_err(|e| NodeError::Corrupt(e.to_string()))?;
    // node.json last: its presence means the enrollment completed.
    write_file(&dir.join("node.json"), &info, false)
}

/// Loads the identity of an enrolled node.
pub fn load(config: &NodeConfig) -> Result<Identity, NodeError> {
    let dir = &config.data_dir;
    let info_path = dir.join("node.json");
    if !info_path.exists() {
        return Err(NodeError::NotEnrolled(dir.display().to_string()));
    }
    let info: NodeInfo = serde_json::from_str(&read(&info_path)?)
        .map_err(|e| NodeError::Corrupt(format!("node.json: {e}")))?;
    Ok(Identity {
        info,
        key_pem: read(&dir.join("node.key"))?,
        cert_pem: read(&dir.join("node.pem"))?,
        ca_pem: read(&dir.join("ca.pem"))?,
    })
}

impl Identity {
    /// A hub client authenticating with this node's certificate.
    pub fn client(&self) -> Result<HubClient, NodeError> {
        Ok(HubClient::new(
            &self.info.hub_url,
            &self.ca_pem,
            Credentials::Node {
                cert_pem: &self.cert_pem,
                key_pem: &self.key_pem,
            },
        )?)
    }

    /// The 32-byte Ed25519 seed of the identity key (from its PKCS#8 encoding).
    pub fn signing_seed(&self) -> Result<[u8; 32], NodeError> {
        let key = KeyPair::from_pem(&self.key_pem)
            .map_err(|e| NodeError::Corrupt(format!("node.key: {e}")))?;
        let der = key.serialize_der();
        // Ed25519 PKCS#8 (v1, or v2 as ring writes it, with the public key appended)
        // holds the seed as OCTET STRING(OCTET STRING(seed)): `04 22 04 20` + 32 bytes.
        let seed = ed25519_seed(&der)
            .ok_or_else(|| NodeError::Corrupt("node.key is not an Ed25519 PKCS#8 key".into()))?;
        Ok(seed)
    }

    /// The identity key as a signing key (witness cosignatures, consent receipts).
    pub fn signing_key(&self) -> Result<ed25519_dalek::SigningKey, NodeError> {
        Ok(ed25519_dalek::SigningKey::from_bytes(&self.signing_seed()?))
    }
}

/// The 32-byte seed inside an Ed25519 PKCS#8 document.
fn ed25519_seed(der: &[u8]) -> Option<[u8; 32]> {
    let at = der.windows(4).position(|w| w == [0x04, 0x22, 0x04, 0x20])?;
    der.get(at + 4..at + 36)?.try_into().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signing_seed_matches_the_certified_public_key() {
        let key = KeyPair::generate_for(&rcgen::PKCS_ED25519).unwrap();
        let seed = ed25519_seed(&key.serialize_der()).unwrap();
        let public = ed25519_dalek::SigningKey::from_bytes(&seed)
            .verifying_key()
            .to_bytes();
        assert_eq!(public.as_slice(), key.public_key_raw());
    }

    #[test]
    fn invites_parse_and_reject_garbage() {
        let fp = "ab".repeat(32);
        let inv = Invite::parse(&Invite::format("s3cret", &fp)).unwrap();
        assert_eq!(inv.secret, "s3cret");
        assert_eq!(inv.ca_fingerprint, fp);
        for bad in [
            "",
            "SLS1",
            "SLS1..x",
            "SLS2.s.ff",
            &format!("SLS1.s.{}", "zz".repeat(32)),
            &format!("SLS1.s.{fp}.x"),
        ] {
            assert!(Invite::parse(bad).is_err(), "{bad}");
        }
    }
}
