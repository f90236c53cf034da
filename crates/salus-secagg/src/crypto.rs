//! The cryptographic steps of the protocol, each domain-separated and bound to the session:
//! message signatures (Ed25519 over a SHA-256 transcript), pairwise keys (X25519 + HMAC-SHA256),
//! share encryption (ChaCha20-Poly1305 with the round and both ids as associated data) and
//! the mask generator (the ChaCha20 keystream read as little-endian u64s).

use chacha20::ChaCha20;
use chacha20::cipher::{KeyIvInit, StreamCipher};
use chacha20poly1305::aead::{Aead, Payload};
use chacha20poly1305::{ChaCha20Poly1305, KeyInit, Nonce};
use curve25519_dalek::Scalar;
use ed25519_dalek::{Signature, Signer, SigningKey, VerifyingKey};
use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};
use x25519_dalek::{PublicKey, StaticSecret};

use crate::config::NodeId;

type HmacSha256 = Hmac<Sha256>;

/// Length of one encrypted share bundle: 4 + 4 byte ids, two 32-byte shares, 16-byte tag.
pub const SHARE_CIPHERTEXT_LEN: usize = 4 + 4 + 32 + 32 + 16;

/// The digest a node signs for one message: domain, session, sender, message kind, body.
pub fn transcript(session: &[u8; 32], from: NodeId, kind: &str, body: &[&[u8]]) -> [u8; 32] {
    let mut hash = Sha256::new();
    hash.update(b"salus-secagg/v1/message");
    hash.update(session);
    hash.update(from.0.to_be_bytes());
    hash.update((kind.len() as u32).to_be_bytes());
    hash.update(kind.as_bytes());
    for part in body {
        hash.update((part.len() as u64).to_be_bytes());
        hash.update(part);
    }
    hash.finalize().into()
}

/// Signs a transcript digest.
pub fn sign(key: &SigningKey, digest: &[u8; 32]) -> [u8; 64] {
    key.sign(digest).to_bytes()
}

/// Verifies a transcript signature (strict: rejects malleable or small-order forms).
pub fn verify(key: &VerifyingKey, digest: &[u8; 32], signature: &[u8; 64]) -> bool {
    key.verify_strict(digest, &Signature::from_bytes(signature))
        .is_ok()
}

/// X25519 agreement; `None` if the peer key is of small order (non-contributory).
fn agree(secret: &StaticSecret, peer: &[u8; 32]) -> Option<[u8; 32]> {
    let shared = secret.diffie_hellman(&PublicKey::from(*peer));
    shared.was_contributory().then(|| shared.to_bytes())
}

/// A key for the pair {a, b} from their X25519 agreement, bound to `label` and the session.
fn pair_key(shared: &[u8; 32], label: &[u8], session: &[u8; 32], a: NodeId, b: NodeId) -> [u8; 32] {
    let (low, high) = if a < b { (a, b) } else { (b, a) };
    // HMAC accepts keys of any length, so `new_from_slice` cannot fail here.
    let mut mac = match HmacSha256::new_from_slice(shared) {
        Ok(mac) => mac,
        Err(_) => return [0; 32],
    };
    mac.update(label);
    mac.update(session);
    mac.update(&low.0.to_be_bytes());
    mac.update(&high.0.to_be_bytes());
    mac.finalize().into_bytes().into()
}

/// The pairwise mask seed of `me` and `peer` (their mask keys' agreement).
pub fn mask_seed(
    secret: &StaticSecret,
    peer_public: &[u8; 32],
    session: &[u8; 32],
    me: NodeId,
    peer: NodeId,
) -> Option<[u8; 32]> {
    let shared = agree(secret, peer_public)?;
    Some(pair_key(
        &shared,
        b"salus-secagg/v1/pair-mask",
        session,
        me,
        peer,
    ))
}

/// The self-mask seed derived from the shared scalar b.
pub fn self_mask_seed(b: &Scalar, session: &[u8; 32], owner: NodeId) -> [u8; 32] {
    let mut hash = Sha256::new();
    hash.update(b"salus-secagg/v1/self-mask");
    hash.update(session);
    hash.update(owner.0.to_be_bytes());
    hash.update(b.as_bytes());
    hash.finalize().into()
}

/// The commitment to a self-mask scalar b published in the key advertisement.
pub fn self_mask_commitment(b: &Scalar, session: &[u8; 32], owner: NodeId) -> [u8; 32] {
    let mut hash = Sha256::new();
    hash.update(b"salus-secagg/v1/self-mask-commitment");
    hash.update(session);
    hash.update(owner.0.to_be_bytes());
    hash.update(b.as_bytes());
    hash.finalize().into()
}

/// The AEAD nonce for `from -> to`: unique per direction under a per-pair, per-round key.
fn share_nonce(from: NodeId, to: NodeId) -> Nonce {
    let mut nonce = [0u8; 12];
    nonce[..4].copy_from_slice(&from.0.to_be_bytes());
    nonce[4..8].copy_from_slice(&to.0.to_be_bytes());
    Nonce::from(nonce)
}

fn share_aad(session: &[u8; 32], from: NodeId, to: NodeId) -> Vec<u8> {
    let mut aad = Vec::with_capacity(32 + 8 + 24);
    aad.extend_from_slice(b"salus-secagg/v1/share");
    aad.extend_from_slice(session);
    aad.extend_from_slice(&from.0.to_be_bytes());
    aad.extend_from_slice(&to.0.to_be_bytes());
    aad
}

/// The AEAD for the pair {a, b}; `None` if the peer key is of small order.
pub fn share_cipher(
    secret: &StaticSecret,
    peer_public: &[u8; 32],
    session: &[u8; 32],
    a: NodeId,
    b: NodeId,
) -> Option<ChaCha20Poly1305> {
    let shared = agree(secret, peer_public)?;
    let key = pair_key(&shared, b"salus-secagg/v1/share-key", session, a, b);
    ChaCha20Poly1305::new_from_slice(&key).ok()
}

/// Encrypts the two shares `from` holds for `to` (of from's self-mask scalar b and of its
/// mask secret key) with the pair cipher; `None` only if encryption fails.
pub fn seal_shares(
    cipher: &ChaCha20Poly1305,
    session: &[u8; 32],
    from: NodeId,
    to: NodeId,
    b_share: &Scalar,
    key_share: &Scalar,
) -> Option<Vec<u8>> {
    let mut plaintext = Vec::with_capacity(72);
    plaintext.extend_from_slice(&from.0.to_be_bytes());
    plaintext.extend_from_slice(&to.0.to_be_bytes());
    plaintext.extend_from_slice(b_share.as_bytes());
    plaintext.extend_from_slice(key_share.as_bytes());
    let aad = share_aad(session, from, to);
    let sealed = cipher
        .encrypt(
            &share_nonce(from, to),
            Payload {
                msg: &plaintext,
                aad: &aad,
            },
        )
        .ok();
    zeroize::Zeroize::zeroize(&mut plaintext);
    sealed
}

/// Decrypts the shares `from` sent to `to`; `None` on any authentication failure.
pub fn open_shares(
    cipher: &ChaCha20Poly1305,
    session: &[u8; 32],
    from: NodeId,
    to: NodeId,
    ciphertext: &[u8],
) -> Option<(Scalar, Scalar)> {
    let aad = share_aad(session, from, to);
    let plaintext = cipher
        .decrypt(
            &share_nonce(from, to),
            Payload {
                msg: ciphertext,
                aad: &aad,
            },
        )
        .ok()?;
    if plaintext.len() != 72
        || plaintext[..4] != from.0.to_be_bytes()
        || plaintext[4..8] != to.0.to_be_bytes()
    {
        return None;
    }
    let scalar = |range: std::ops::Range<usize>| -> Option<Scalar> {
        let bytes: [u8; 32] = plaintext[range].try_into().ok()?;
        Option::from(Scalar::from_canonical_bytes(bytes))
    };
    Some((scalar(8..40)?, scalar(40..72)?))
}

/// Whether to add or subtract a mask.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MaskSign {
    /// Add the mask.
    Add,
    /// Subtract the mask.
    Subtract,
}

impl MaskSign {
    /// The sign node `me` uses for its pairwise mask with `peer`: + if me < peer, else -.
    pub fn pairwise(me: NodeId, peer: NodeId) -> Self {
        if me < peer { Self::Add } else { Self::Subtract }
    }
}

/// Adds (or subtracts) the mask expanded from `seed` to `acc`, element-wise in Z_2^64:
/// the ChaCha20 keystream (key = seed, nonce = 0) read as little-endian u64s.
pub fn apply_mask(acc: &mut [u64], seed: &[u8; 32], sign: MaskSign) {
    const CHUNK: usize = 512; // u64s per keystream block batch (4 KiB)
    let mut cipher = ChaCha20::new(&(*seed).into(), &[0u8; 12].into());
    let mut buffer = [0u8; CHUNK * 8];
    for block in acc.chunks_mut(CHUNK) {
        let bytes = &mut buffer[..block.len() * 8];
        bytes.fill(0);
        cipher.apply_keystream(bytes);
        for (value, word) in block.iter_mut().zip(bytes.chunks_exact(8)) {
            let mask = u64::from_le_bytes([
                word[0], word[1], word[2], word[3], word[4], word[5], word[6], word[7],
            ]);
            *value = match sign {
                MaskSign::Add => value.wrapping_add(mask),
                MaskSign::Subtract => value.wrapping_sub(mask),
            };
        }
    }
}

/// An X25519 secret whose 32 bytes are those of a field scalar, so it can be Shamir-shared.
pub fn x25519_from_scalar(scalar: &Scalar) -> StaticSecret {
    StaticSecret::from(scalar.to_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks_cancel() {
        let seed = [7u8; 32];
        let mut acc = vec![1u64, 2, 3, u64::MAX, 0, 9, 10];
        let original = acc.clone();
        apply_mask(&mut acc, &seed, MaskSign::Add);
        assert_ne!(acc, original);
        apply_mask(&mut acc, &seed, MaskSign::Subtract);
        assert_eq!(acc, original);
    }

    #[test]
    fn mask_is_the_chacha20_keystream() {
        // RFC 8439 section 2.4.2 uses key 00..1f, nonce 000000000000004a00000000, counter 1;
        // with an all-zero nonce and counter 0 we check the RFC 7539 appendix A.1 test 1
        // keystream (all-zero key and nonce): 76 b8 e0 ad a0 f1 3d 90 ...
        let mut acc = vec![0u64; 2];
        apply_mask(&mut acc, &[0u8; 32], MaskSign::Add);
        assert_eq!(
            acc[0],
            u64::from_le_bytes([0x76, 0xb8, 0xe0, 0xad, 0xa0, 0xf1, 0x3d, 0x90])
        );
        assert_eq!(
            acc[1],
            u64::from_le_bytes([0x40, 0x5d, 0x6a, 0xe5, 0x53, 0x86, 0xbd, 0x28])
        );
    }
}
