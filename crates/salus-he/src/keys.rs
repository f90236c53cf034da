//! Key ceremony: common reference string, parties, public key shares and the
//! collective public key (Mouchet et al., "Multiparty Homomorphic Encryption from
//! Ring-Learning-with-Errors", PETS 2021, Protocol 1 "EncKeyGen").
//!
//! Each party `i` samples a secret `s_i` and publishes `p0_i = -a*s_i + e_i`, where `a`
//! is the CRS polynomial expanded from a public seed. The collective public key is
//! `(sum p0_i, a)`; its secret `s = sum s_i` is never assembled anywhere.
//! Shares are signed with the party's Ed25519 identity key; the collective key keeps a
//! roster `(party id, identity key, share digest)` used to verify every later share.

use ed25519_dalek::{Signature, Signer, SigningKey, VerifyingKey};
use fhe_math::rq::Poly;
use rand::{CryptoRng, Rng};
use zeroize::Zeroizing;

use crate::crs::Crs;
use crate::error::{HeError, Result};
use crate::params::{MAX_PARTIES, Params};
use crate::ring::{read_poly, sample_small, write_poly};
use crate::wire::{BlobKind, Reader, Writer, digest, hex32, serde_as_blob};

/// A party's number within a study or federation.
pub type PartyId = u32;

/// Identifies a public key (collective or researcher): a SHA-256 digest of the key.
#[derive(
    Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
pub struct KeyId(pub [u8; 32]);

impl std::fmt::Debug for KeyId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "KeyId({})", hex32(&self.0))
    }
}

impl std::fmt::Display for KeyId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&hex32(&self.0))
    }
}

/// What a party learned when it confirmed the collective key.
#[derive(Clone, Copy, Debug)]
pub(crate) struct ConfirmedKey {
    pub(crate) key_id: KeyId,
}

/// One data holder in the threshold scheme: holds its secret key share and its
/// identity signing key. Secret material is zeroized on drop; `Debug` shows only the id.
pub struct Party {
    pub(crate) id: PartyId,
    pub(crate) params: Params,
    crs_seed: [u8; 32],
    pub(crate) secret: Zeroizing<Poly>,
    pub(crate) signing: SigningKey,
    p0: Poly,
    pub(crate) confirmed: Option<ConfirmedKey>,
}

impl std::fmt::Debug for Party {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Party")
            .field("id", &self.id)
            .finish_non_exhaustive()
    }
}

impl Party {
    /// A new party with a fresh secret share and a fresh (ephemeral) identity key.
    pub fn new<R: Rng + CryptoRng>(
        id: PartyId,
        params: &Params,
        crs: &Crs,
        rng: &mut R,
    ) -> Result<Self> {
        let mut key_bytes = Zeroizing::new([0u8; 32]);
        rng.fill_bytes(key_bytes.as_mut());
        Self::with_identity(id, params, crs, SigningKey::from_bytes(&key_bytes), rng)
    }

    /// A new party that signs its shares with an existing identity key (the node's key).
    pub fn with_identity<R: Rng + CryptoRng>(
        id: PartyId,
        params: &Params,
        crs: &Crs,
        signing: SigningKey,
        rng: &mut R,
    ) -> Result<Self> {
        if crs.params != *params {
            return Err(HeError::ParamSetMismatch("CRS and party"));
        }
        let secret = Zeroizing::new(sample_small(params, rng)?);
        let error = Zeroizing::new(sample_small(params, rng)?);
        let mut p0 = -(crs.a() * secret.as_ref());
        p0 += error.as_ref();
        Ok(Self {
            id,
            params: params.clone(),
            crs_seed: crs.seed,
            secret,
            signing,
            p0,
            confirmed: None,
        })
    }

    /// This party's id.
    pub fn id(&self) -> PartyId {
        self.id
    }

    /// The identity key other parties and the hub verify this party's shares with.
    pub fn verifying_key(&self) -> [u8; 32] {
        self.signing.verifying_key().to_bytes()
    }

    /// The signed share this party contributes to the collective public key.
    pub fn public_key_share(&self) -> PublicKeyShare {
        let vk = self.verifying_key();
        let message = pk_share_message(&self.params, self.id, &vk, &self.crs_seed, &self.p0);
        PublicKeyShare {
            params: self.params.clone(),
            party: self.id,
            verifying_key: vk,
            crs_seed: self.crs_seed,
            p0: self.p0.clone(),
            signature: self.signing.sign(&message).to_bytes(),
        }
    }

    /// Checks that the collective key contains this party's own share (same identity key,
    /// same share digest, same CRS) and remembers it. Shares for decryption or key
    /// switching are only produced for ciphertexts under a confirmed key.
    pub fn confirm_collective_key(&mut self, cpk: &CollectivePublicKey) -> Result<()> {
        if cpk.params != self.params {
            return Err(HeError::ParamSetMismatch("collective key and party"));
        }
        let own = self.public_key_share();
        let included = cpk.crs_seed == self.crs_seed
            && cpk.roster.iter().any(|e| {
                e.party == self.id
                    && e.verifying_key == own.verifying_key
                    && e.share_digest == own.digest()
            });
        if !included {
            return Err(HeError::KeyDoesNotIncludeParty);
        }
        self.confirmed = Some(ConfirmedKey { key_id: cpk.key_id });
        Ok(())
    }

    pub(crate) fn confirmed_key(&self) -> Result<KeyId> {
        self.confirmed
            .map(|c| c.key_id)
            .ok_or(HeError::KeyNotConfirmed)
    }

    /// Versioned bytes of the party's **secret** state (secret share, identity key,
    /// confirmed key). Store them encrypted at rest; they are all a party needs to take
    /// part in later decryptions.
    pub fn to_secret_bytes(&self) -> Zeroizing<Vec<u8>> {
        let mut w = Writer::with_header(BlobKind::PartySecret, &self.params);
        w.put_u32(self.id);
        w.put_raw(&self.crs_seed);
        w.put_raw(self.signing.as_bytes());
        write_poly(&mut w, &self.secret);
        write_poly(&mut w, &self.p0);
        match self.confirmed {
            Some(c) => {
                w.put_u8(1);
                w.put_raw(&c.key_id.0);
            }
            None => w.put_u8(0),
        }
        Zeroizing::new(w.into_bytes())
    }

    /// Parses [`Party::to_secret_bytes`].
    pub fn from_secret_bytes(bytes: &[u8]) -> Result<Self> {
        let (mut r, params) = Reader::open(bytes, BlobKind::PartySecret)?;
        let id = r.get_u32()?;
        let crs_seed = r.get_array()?;
        let signing = SigningKey::from_bytes(&Zeroizing::new(r.get_array::<32>()?));
        let secret = Zeroizing::new(read_poly(&mut r, &params)?);
        let p0 = read_poly(&mut r, &params)?;
        let confirmed = match r.get_u8()? {
            0 => None,
            1 => Some(ConfirmedKey {
                key_id: KeyId(r.get_array()?),
            }),
            _ => return Err(HeError::Malformed("confirmed-key flag")),
        };
        r.finish()?;
        Ok(Self {
            id,
            params,
            crs_seed,
            secret,
            signing,
            p0,
            confirmed,
        })
    }
}

/// A party's signed contribution `p0_i = -a*s_i + e_i` to the collective public key.
#[derive(Clone)]
pub struct PublicKeyShare {
    params: Params,
    party: PartyId,
    verifying_key: [u8; 32],
    crs_seed: [u8; 32],
    p0: Poly,
    signature: [u8; 64],
}

impl std::fmt::Debug for PublicKeyShare {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PublicKeyShare")
            .field("party", &self.party)
            .finish_non_exhaustive()
    }
}

fn pk_share_message(
    params: &Params,
    party: PartyId,
    vk: &[u8; 32],
    crs_seed: &[u8; 32],
    p0: &Poly,
) -> [u8; 32] {
    let mut w = Writer::new();
    write_poly(&mut w, p0);
    digest(
        "salus-he/pk-share/v1",
        &[
            &[params.set().id()],
            &party.to_le_bytes(),
            vk,
            crs_seed,
            &w.into_bytes(),
        ],
    )
}

impl PublicKeyShare {
    /// The party that made it.
    pub fn party(&self) -> PartyId {
        self.party
    }

    /// The identity key it is signed with.
    pub fn verifying_key(&self) -> [u8; 32] {
        self.verifying_key
    }

    fn digest(&self) -> [u8; 32] {
        pk_share_message(
            &self.params,
            self.party,
            &self.verifying_key,
            &self.crs_seed,
            &self.p0,
        )
    }

    fn verify(&self) -> Result<()> {
        verify_signature(
            self.party,
            &self.verifying_key,
            &self.digest(),
            &self.signature,
        )
    }

    /// Versioned bytes.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut w = Writer::with_header(BlobKind::PublicKeyShare, &self.params);
        w.put_u32(self.party);
        w.put_raw(&self.verifying_key);
        w.put_raw(&self.crs_seed);
        write_poly(&mut w, &self.p0);
        w.put_raw(&self.signature);
        w.into_bytes()
    }

    /// Parses [`PublicKeyShare::to_bytes`] (the signature is checked when combining).
    pub fn from_bytes(bytes: &[u8]) -> Result<Self> {
        let (mut r, params) = Reader::open(bytes, BlobKind::PublicKeyShare)?;
        let party = r.get_u32()?;
        let verifying_key = r.get_array()?;
        let crs_seed = r.get_array()?;
        let p0 = read_poly(&mut r, &params)?;
        let signature = r.get_array()?;
        r.finish()?;
        Ok(Self {
            params,
            party,
            verifying_key,
            crs_seed,
            p0,
            signature,
        })
    }
}

/// Verifies an Ed25519 signature over a 32-byte message digest (strict verification).
pub(crate) fn verify_signature(
    party: PartyId,
    vk: &[u8; 32],
    message: &[u8; 32],
    signature: &[u8; 64],
) -> Result<()> {
    let vk = VerifyingKey::from_bytes(vk).map_err(|_| HeError::BadIdentityKey)?;
    vk.verify_strict(message, &Signature::from_bytes(signature))
        .map_err(|_| HeError::BadSignature(party))
}

/// One member of a collective key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RosterEntry {
    /// The party's id.
    pub party: PartyId,
    /// The Ed25519 key its shares are signed with.
    pub verifying_key: [u8; 32],
    /// Digest of its public key share.
    pub share_digest: [u8; 32],
}

/// The collective public key `(sum p0_i, a)` and the roster of its members.
#[derive(Clone)]
pub struct CollectivePublicKey {
    pub(crate) params: Params,
    crs_seed: [u8; 32],
    pub(crate) p0: Poly,
    pub(crate) p1: Poly,
    roster: Vec<RosterEntry>,
    pub(crate) key_id: KeyId,
}

impl std::fmt::Debug for CollectivePublicKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CollectivePublicKey")
            .field("key_id", &self.key_id)
            .field("parties", &self.roster.len())
            .finish()
    }
}

impl CollectivePublicKey {
    /// Combines one signed share per party (1 to [`MAX_PARTIES`] parties, same CRS).
    /// Every signature is verified; duplicates are refused.
    pub fn combine<'a, I>(shares: I) -> Result<Self>
    where
        I: IntoIterator<Item = &'a PublicKeyShare>,
    {
        let shares: Vec<&PublicKeyShare> = shares.into_iter().collect();
        let first = *shares.first().ok_or(HeError::PartyCount {
            got: 0,
            max: MAX_PARTIES,
        })?;
        if shares.len() > MAX_PARTIES {
            return Err(HeError::PartyCount {
                got: shares.len(),
                max: MAX_PARTIES,
            });
        }
        let mut roster: Vec<RosterEntry> = Vec::with_capacity(shares.len());
        let mut p0 = first.p0.clone();
        for (i, share) in shares.iter().enumerate() {
            if share.params != first.params {
                return Err(HeError::ParamSetMismatch("public key shares"));
            }
            if share.crs_seed != first.crs_seed {
                return Err(HeError::CrsMismatch);
            }
            if roster.iter().any(|e| e.party == share.party) {
                return Err(HeError::DuplicateParty(share.party));
            }
            share.verify()?;
            if i > 0 {
                p0 += &share.p0;
            }
            roster.push(RosterEntry {
                party: share.party,
                verifying_key: share.verifying_key,
                share_digest: share.digest(),
            });
        }
        roster.sort_by_key(|e| e.party);
        let crs = Crs::from_seed(&first.params, first.crs_seed)?;
        Ok(Self::assemble(
            first.params.clone(),
            first.crs_seed,
            p0,
            crs.a().clone(),
            roster,
        ))
    }

    fn assemble(
        params: Params,
        crs_seed: [u8; 32],
        p0: Poly,
        p1: Poly,
        roster: Vec<RosterEntry>,
    ) -> Self {
        let mut cpk = Self {
            params,
            crs_seed,
            p0,
            p1,
            roster,
            key_id: KeyId([0; 32]),
        };
        cpk.key_id = KeyId(digest("salus-he/cpk/v1", &[&cpk.body_bytes()]));
        cpk
    }

    /// The key's identifier (a digest of the key and its roster).
    pub fn key_id(&self) -> KeyId {
        self.key_id
    }

    /// The members, sorted by party id.
    pub fn roster(&self) -> &[RosterEntry] {
        &self.roster
    }

    /// Number of parties (all must take part in decryption).
    pub fn parties(&self) -> usize {
        self.roster.len()
    }

    /// The parameters.
    pub fn params(&self) -> &Params {
        &self.params
    }

    pub(crate) fn member(&self, party: PartyId) -> Result<&RosterEntry> {
        self.roster
            .iter()
            .find(|e| e.party == party)
            .ok_or(HeError::UnknownParty(party))
    }

    fn body_bytes(&self) -> Vec<u8> {
        let mut w = Writer::new();
        w.put_raw(&self.crs_seed);
        write_poly(&mut w, &self.p0);
        w.put_u32(self.roster.len() as u32);
        for e in &self.roster {
            w.put_u32(e.party);
            w.put_raw(&e.verifying_key);
            w.put_raw(&e.share_digest);
        }
        w.into_bytes()
    }

    /// Versioned bytes (the CRS polynomial is stored as its seed).
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut w = Writer::with_header(BlobKind::CollectivePublicKey, &self.params);
        w.put_raw(&self.body_bytes());
        w.into_bytes()
    }

    /// Parses [`CollectivePublicKey::to_bytes`].
    pub fn from_bytes(bytes: &[u8]) -> Result<Self> {
        let (mut r, params) = Reader::open(bytes, BlobKind::CollectivePublicKey)?;
        let crs_seed = r.get_array()?;
        let p0 = read_poly(&mut r, &params)?;
        let count = r.get_count(MAX_PARTIES)?;
        let mut roster = Vec::with_capacity(count);
        for _ in 0..count {
            roster.push(RosterEntry {
                party: r.get_u32()?,
                verifying_key: r.get_array()?,
                share_digest: r.get_array()?,
            });
        }
        r.finish()?;
        if count == 0 || roster.windows(2).any(|w| w[0].party >= w[1].party) {
            return Err(HeError::Malformed("roster must be non-empty and sorted"));
        }
        let crs = Crs::from_seed(&params, crs_seed)?;
        Ok(Self::assemble(
            params,
            crs_seed,
            p0,
            crs.a().clone(),
            roster,
        ))
    }
}

serde_as_blob!(PublicKeyShare);
serde_as_blob!(CollectivePublicKey);
