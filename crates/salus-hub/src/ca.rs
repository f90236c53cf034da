//! The hub's certificate authority.
//!
//! The CA key never leaves the hub's data directory. Node certificates are issued
//! from scratch from parameters the hub chooses (subject = node id and organisation,
//! client-auth only, one year); nothing in the node's CSR but its public key is used,
//! so a node cannot ask for a CA certificate or someone else's name. Node keys must be
//! Ed25519: the same key signs secure-aggregation advertisements and audit
//! cosignatures.

use std::path::Path;

use rcgen::{
    BasicConstraints, CertificateParams, CertificateSigningRequestParams, DistinguishedName,
    DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair, KeyUsagePurpose, PKCS_ED25519,
    PublicKeyData, SanType,
};

use crate::HubError;

/// The loaded CA, plus the hub's TLS server certificate issued by it.
pub struct Ca {
    cert_pem: String,
    issuer: Issuer<'static, KeyPair>,
    fingerprint: String,
    server_chain_pem: String,
    server_key_pem: String,
}

impl std::fmt::Debug for Ca {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ca")
            .field("fingerprint", &self.fingerprint)
            .finish_non_exhaustive()
    }
}

/// A certificate issued to a node.
#[derive(Debug, Clone)]
pub struct IssuedNodeCert {
    pub cert_pem: String,
    pub fingerprint: String,
    /// The node's Ed25519 public key, hex.
    pub identity_key: String,
}

fn ca_err(e: impl std::fmt::Display) -> HubError {
    HubError::Ca(e.to_string())
}

/// Writes a file readable only by its owner, atomically.
pub fn write_private(path: &Path, contents: &[u8]) -> Result<(), HubError> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let tmp = path.with_extension("partial");
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .write(true)
        .truncate(true)
        .mode(0o600)
        .open(&tmp)
        .map_err(|e| HubError::io(&tmp, e))?;
    f.write_all(contents).map_err(|e| HubError::io(&tmp, e))?;
    f.sync_all().map_err(|e| HubError::io(&tmp, e))?;
    std::fs::rename(&tmp, path).map_err(|e| HubError::io(path, e))
}

fn read(path: &Path) -> Result<String, HubError> {
    std::fs::read_to_string(path).map_err(|e| HubError::io(path, e))
}

impl Ca {
    /// Loads the CA from `dir`, creating it on first use, and issues a fresh TLS
    /// server certificate for `hostnames` (DNS names or IP addresses).
    pub fn load_or_create(dir: &Path, hostnames: &[String]) -> Result<Ca, HubError> {
        std::fs::create_dir_all(dir).map_err(|e| HubError::io(dir, e))?;
        let cert_path = dir.join("ca.pem");
        let key_path = dir.join("ca.key");
        if !cert_path.exists() {
            let key = KeyPair::generate_for(&PKCS_ED25519).map_err(ca_err)?;
            let mut params = CertificateParams::new(Vec::<String>::new()).map_err(ca_err)?;
            params.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
            params.distinguished_name = DistinguishedName::new();
            params
                .distinguished_name
                .push(DnType::CommonName, "Salus hub CA");
            params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
            params.not_after = rcgen::date_time_ymd(2046, 1, 1);
            let cert = params.self_signed(&key).map_err(ca_err)?;
            write_private(&key_path, key.serialize_pem().as_bytes())?;
            write_private(&cert_path, cert.pem().as_bytes())?;
        }
        let cert_pem = read(&cert_path)?;
        let key = KeyPair::from_pem(&read(&key_path)?).map_err(ca_err)?;
        let issuer = Issuer::from_ca_cert_pem(&cert_pem, key).map_err(ca_err)?;
        let fingerprint = salus_net::tls::fingerprint_pem(&cert_pem)?;
        let (server_chain_pem, server_key_pem) = issue_server_cert(&issuer, &cert_pem, hostnames)?;
        Ok(Ca {
            cert_pem,
            issuer,
            fingerprint,
            server_chain_pem,
            server_key_pem,
        })
    }

    /// The CA certificate, PEM.
    pub fn cert_pem(&self) -> &str {
        &self.cert_pem
    }

    /// SHA-256 fingerprint of the CA certificate (pinned in invites).
    pub fn fingerprint(&self) -> &str {
        &self.fingerprint
    }

    /// The hub's TLS server certificate chain and key, PEM.
    pub fn server_identity(&self) -> (&str, &str) {
        (&self.server_chain_pem, &self.server_key_pem)
    }

    /// Issues a node certificate from a CSR, using only the CSR's public key.
    pub fn sign_node_csr(
        &self,
        csr_pem: &str,
        node_id: &str,
        organisation: &str,
    ) -> Result<IssuedNodeCert, HubError> {
        let csr = CertificateSigningRequestParams::from_pem(csr_pem).map_err(|e| {
            HubError::Invalid(format!("the certificate signing request is not valid: {e}"))
        })?;
        if csr.public_key.algorithm() != &PKCS_ED25519 {
            return Err(HubError::Invalid(
                "node keys must be Ed25519; re-run `salus node enroll`".into(),
            ));
        }
        let mut params = CertificateParams::new(Vec::<String>::new()).map_err(ca_err)?;
        params.distinguished_name = DistinguishedName::new();
        params.distinguished_name.push(DnType::CommonName, node_id);
        params
            .distinguished_name
            .push(DnType::OrganizationName, organisation);
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
        params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        params.is_ca = IsCa::ExplicitNoCa;
        let now = time_now();
        params.not_before = now - rcgen_duration(3600);
        params.not_after = now + rcgen_duration(365 * 24 * 3600);
        let serial: [u8; 16] = rand::random();
        params.serial_number = Some(rcgen::SerialNumber::from_slice(&serial));
        let cert = params
            .signed_by(&csr.public_key, &self.issuer)
            .map_err(ca_err)?;
        Ok(IssuedNodeCert {
            fingerprint: salus_net::tls::fingerprint(cert.der()),
            cert_pem: cert.pem(),
            identity_key: hex::encode(csr.public_key.der_bytes()),
        })
    }
}

fn issue_server_cert(
    issuer: &Issuer<'static, KeyPair>,
    ca_pem: &str,
    hostnames: &[String],
) -> Result<(String, String), HubError> {
    let key = KeyPair::generate_for(&PKCS_ED25519).map_err(ca_err)?;
    let mut names: Vec<String> = vec!["localhost".into(), "127.0.0.1".into()];
    names.extend(hostnames.iter().cloned());
    names.dedup();
    let mut params = CertificateParams::new(Vec::<String>::new()).map_err(ca_err)?;
    params.subject_alt_names = names
        .iter()
        .map(|n| match n.parse::<std::net::IpAddr>() {
            Ok(ip) => Ok(SanType::IpAddress(ip)),
            Err(_) => n.clone().try_into().map(SanType::DnsName).map_err(ca_err),
        })
        .collect::<Result<_, _>>()?;
    params.distinguished_name = DistinguishedName::new();
    params
        .distinguished_name
        .push(DnType::CommonName, "Salus hub");
    params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    let now = time_now();
    params.not_before = now - rcgen_duration(3600);
    params.not_after = now + rcgen_duration(90 * 24 * 3600);
    let cert = params.signed_by(&key, issuer).map_err(ca_err)?;
    Ok((format!("{}{}", cert.pem(), ca_pem), key.serialize_pem()))
}

fn time_now() -> time::OffsetDateTime {
    time::OffsetDateTime::now_utc()
}

fn rcgen_duration(secs: i64) -> time::Duration {
    time::Duration::seconds(secs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn issues_node_certs_from_csr_public_key_only() {
        let dir = tempfile::tempdir().unwrap();
        let ca = Ca::load_or_create(dir.path(), &[]).unwrap();
        let again = Ca::load_or_create(dir.path(), &[]).unwrap();
        assert_eq!(ca.fingerprint(), again.fingerprint(), "CA is persistent");

        let node_key = KeyPair::generate_for(&PKCS_ED25519).unwrap();
        let mut params = CertificateParams::new(vec!["evil.example".to_string()]).unwrap();
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        let csr = params.serialize_request(&node_key).unwrap().pem().unwrap();
        let issued = ca.sign_node_csr(&csr, "node-1", "Hospital A").unwrap();
        assert_eq!(issued.identity_key, hex::encode(node_key.public_key_raw()));
        assert!(!issued.cert_pem.is_empty());

        let rsa_like = KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).unwrap();
        let csr = CertificateParams::new(Vec::<String>::new())
            .unwrap()
            .serialize_request(&rsa_like)
            .unwrap()
            .pem()
            .unwrap();
        assert!(
            ca.sign_node_csr(&csr, "n", "o")
                .unwrap_err()
                .to_string()
                .contains("Ed25519")
        );
        assert!(ca.sign_node_csr("garbage", "n", "o").is_err());
    }
}
