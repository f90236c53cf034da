//! Researcher keys and collective public-key switching with noise flooding
//! (Mouchet et al., Protocol 4 "PubKeySwitch").
//!
//! To hand an aggregate to a researcher without anyone else seeing it, party `i` publishes,
//! per block, `h0_i = s_i*c1 + p0'*u_i + E_i` and `h1_i = p1'*u_i + e1_i`, where
//! `(p0', p1')` is the researcher's public key, `u_i, e1_i` are fresh small polynomials and
//! `E_i` is flooding noise. The hub computes `(c0 + sum h0_i, sum h1_i)`: a ciphertext of the
//! same plaintext under the researcher's key. The hub never holds a key that opens it; the
//! researcher's decryption sees the ciphertext noise only through the flooding.

use ed25519_dalek::Signer;
use fhe_math::rq::{Poly, Representation};
use rand::{CryptoRng, Rng};
use zeroize::Zeroizing;

use crate::ciphertext::{Ciphertext, EncryptionKey, KeyKind, KeyView, sealed};
use crate::decrypt::{Decrypted, decode_blocks, match_roster, share_message};
use crate::error::{HeError, Result};
use crate::keys::{CollectivePublicKey, KeyId, Party, PartyId, verify_signature};
use crate::params::{Params, flooded_noise_bound, flooding_bound};
use crate::ring::{read_poly, sample_flooding, sample_small, write_poly};
use crate::wire::{BlobKind, Reader, Writer, digest, serde_as_blob};

/// A single-key BFV public key (a researcher's, or a data holder's for inference).
#[derive(Clone)]
pub struct ResearcherPublicKey {
    params: Params,
    p0: Poly,
    p1: Poly,
    key_id: KeyId,
}

impl std::fmt::Debug for ResearcherPublicKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "ResearcherPublicKey({})", self.key_id)
    }
}

impl EncryptionKey for ResearcherPublicKey {}
impl sealed::Sealed for ResearcherPublicKey {
    fn view(&self) -> KeyView<'_> {
        KeyView {
            params: &self.params,
            p0: &self.p0,
            p1: &self.p1,
            key_id: self.key_id,
            kind: KeyKind::Single,
        }
    }
}

impl ResearcherPublicKey {
    fn new(params: Params, p0: Poly, p1: Poly) -> Self {
        let mut w = Writer::new();
        write_poly(&mut w, &p0);
        write_poly(&mut w, &p1);
        let key_id = KeyId(digest(
            "salus-he/researcher-pk/v1",
            &[&[params.set().id()], &w.into_bytes()],
        ));
        Self {
            params,
            p0,
            p1,
            key_id,
        }
    }

    /// The key's identifier.
    pub fn key_id(&self) -> KeyId {
        self.key_id
    }

    /// The parameters.
    pub fn params(&self) -> &Params {
        &self.params
    }

    /// Versioned bytes.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut w = Writer::with_header(BlobKind::ResearcherPublicKey, &self.params);
        write_poly(&mut w, &self.p0);
        write_poly(&mut w, &self.p1);
        w.into_bytes()
    }

    /// Parses [`ResearcherPublicKey::to_bytes`].
    pub fn from_bytes(bytes: &[u8]) -> Result<Self> {
        let (mut r, params) = Reader::open(bytes, BlobKind::ResearcherPublicKey)?;
        let p0 = read_poly(&mut r, &params)?;
        let p1 = read_poly(&mut r, &params)?;
        r.finish()?;
        Ok(Self::new(params, p0, p1))
    }
}

/// A single-key BFV secret key with its public key. Zeroized on drop.
pub struct ResearcherKey {
    secret: Zeroizing<Poly>,
    public: ResearcherPublicKey,
}

impl std::fmt::Debug for ResearcherKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "ResearcherKey({})", self.public.key_id)
    }
}

impl ResearcherKey {
    /// A fresh key pair: `p1 = a` uniform, `p0 = -a*s + e`.
    pub fn generate<R: Rng + CryptoRng>(params: &Params, rng: &mut R) -> Result<Self> {
        let secret = Zeroizing::new(sample_small(params, rng)?);
        let error = Zeroizing::new(sample_small(params, rng)?);
        let a = Poly::random(params.ctx(), Representation::Ntt, rng);
        let mut p0 = -(&a * secret.as_ref());
        p0 += error.as_ref();
        Ok(Self {
            secret,
            public: ResearcherPublicKey::new(params.clone(), p0, a),
        })
    }

    /// The public key to publish.
    pub fn public_key(&self) -> &ResearcherPublicKey {
        &self.public
    }

    /// Decrypts and verifies the integrity check slots.
    pub fn decrypt(&self, ct: &Ciphertext) -> Result<Decrypted> {
        if ct.key_id != self.public.key_id {
            return Err(HeError::WrongKey);
        }
        let phases: Vec<Poly> = ct
            .blocks
            .iter()
            .map(|[c0, c1]| {
                let mut v = c1 * self.secret.as_ref();
                v += c0;
                v
            })
            .collect();
        decode_blocks(ct, &phases)
    }

    /// Decrypts an integer ciphertext.
    pub fn decrypt_i64s(&self, ct: &Ciphertext) -> Result<Vec<i64>> {
        self.decrypt(ct)?.to_i64s()
    }

    /// Decrypts a fixed-point ciphertext.
    pub fn decrypt_fixed(&self, ct: &Ciphertext) -> Result<Vec<f64>> {
        self.decrypt(ct)?.to_f64s()
    }

    pub(crate) fn secret(&self) -> &Poly {
        &self.secret
    }

    /// Versioned bytes of the **secret** key (store encrypted at rest).
    pub fn to_secret_bytes(&self) -> Zeroizing<Vec<u8>> {
        let mut w = Writer::with_header(BlobKind::ResearcherKey, &self.public.params);
        write_poly(&mut w, &self.secret);
        write_poly(&mut w, &self.public.p0);
        write_poly(&mut w, &self.public.p1);
        Zeroizing::new(w.into_bytes())
    }

    /// Parses [`ResearcherKey::to_secret_bytes`].
    pub fn from_secret_bytes(bytes: &[u8]) -> Result<Self> {
        let (mut r, params) = Reader::open(bytes, BlobKind::ResearcherKey)?;
        let secret = Zeroizing::new(read_poly(&mut r, &params)?);
        let p0 = read_poly(&mut r, &params)?;
        let p1 = read_poly(&mut r, &params)?;
        r.finish()?;
        Ok(Self {
            secret,
            public: ResearcherPublicKey::new(params, p0, p1),
        })
    }
}

const KEY_SWITCH_LABEL: &str = "salus-he/key-switch-share/v1";

/// One party's flooded share for switching a ciphertext to a researcher's key.
#[derive(Clone)]
pub struct KeySwitchShare {
    params: Params,
    party: PartyId,
    key_id: KeyId,
    ct_digest: [u8; 32],
    target: KeyId,
    h0: Vec<Poly>,
    h1: Vec<Poly>,
    signature: [u8; 64],
}

impl std::fmt::Debug for KeySwitchShare {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeySwitchShare")
            .field("party", &self.party)
            .finish_non_exhaustive()
    }
}

impl Party {
    /// This party's share for re-encrypting `ct` (under the confirmed collective key)
    /// to the researcher's public key.
    pub fn key_switch_share<R: Rng + CryptoRng>(
        &self,
        ct: &Ciphertext,
        researcher: &ResearcherPublicKey,
        rng: &mut R,
    ) -> Result<KeySwitchShare> {
        self.check_can_share(ct)?;
        if researcher.params != self.params {
            return Err(HeError::ParamSetMismatch("researcher key and party"));
        }
        let (mut h0, mut h1) = (Vec::new(), Vec::new());
        for b in 0..ct.blocks.len() {
            let u = Zeroizing::new(sample_small(&self.params, rng)?);
            let e1 = Zeroizing::new(sample_small(&self.params, rng)?);
            let mut a = ct.c1_ntt(b) * self.secret.as_ref();
            a += &(&researcher.p0 * u.as_ref());
            a += &sample_flooding(&self.params, flooding_bound(), rng)?;
            let mut c = &researcher.p1 * u.as_ref();
            c += e1.as_ref();
            h0.push(a);
            h1.push(c);
        }
        let ct_digest = ct.digest();
        let message = key_switch_message(
            &self.params,
            self.id,
            &ct.key_id,
            &ct_digest,
            &researcher.key_id,
            &h0,
            &h1,
        );
        Ok(KeySwitchShare {
            params: self.params.clone(),
            party: self.id,
            key_id: ct.key_id,
            ct_digest,
            target: researcher.key_id,
            h0,
            h1,
            signature: self.signing.sign(&message).to_bytes(),
        })
    }
}

fn key_switch_message(
    params: &Params,
    party: PartyId,
    key_id: &KeyId,
    ct_digest: &[u8; 32],
    target: &KeyId,
    h0: &[Poly],
    h1: &[Poly],
) -> [u8; 32] {
    let polys: Vec<&Poly> = h0.iter().chain(h1).collect();
    share_message(
        KEY_SWITCH_LABEL,
        params,
        party,
        key_id,
        ct_digest,
        &target.0,
        &polys,
    )
}

impl KeySwitchShare {
    /// The party that made it.
    pub fn party(&self) -> PartyId {
        self.party
    }

    /// The researcher key it switches to.
    pub fn target(&self) -> KeyId {
        self.target
    }

    fn verify(
        &self,
        cpk: &CollectivePublicKey,
        ct_digest: &[u8; 32],
        target: &KeyId,
    ) -> Result<()> {
        let member = cpk.member(self.party)?;
        let message = key_switch_message(
            &self.params,
            self.party,
            &self.key_id,
            &self.ct_digest,
            &self.target,
            &self.h0,
            &self.h1,
        );
        verify_signature(self.party, &member.verifying_key, &message, &self.signature)?;
        if self.key_id != cpk.key_id || &self.ct_digest != ct_digest || &self.target != target {
            return Err(HeError::ShareMismatch(self.party));
        }
        Ok(())
    }

    /// Versioned bytes.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut w = Writer::with_header(BlobKind::KeySwitchShare, &self.params);
        w.put_u32(self.party);
        w.put_raw(&self.key_id.0);
        w.put_raw(&self.ct_digest);
        w.put_raw(&self.target.0);
        w.put_u32(self.h0.len() as u32);
        for (a, b) in self.h0.iter().zip(&self.h1) {
            write_poly(&mut w, a);
            write_poly(&mut w, b);
        }
        w.put_raw(&self.signature);
        w.into_bytes()
    }

    /// Parses [`KeySwitchShare::to_bytes`] (the signature is checked when combining).
    pub fn from_bytes(bytes: &[u8]) -> Result<Self> {
        let (mut r, params) = Reader::open(bytes, BlobKind::KeySwitchShare)?;
        let party = r.get_u32()?;
        let key_id = KeyId(r.get_array()?);
        let ct_digest = r.get_array()?;
        let target = KeyId(r.get_array()?);
        let count = r.get_count(usize::MAX)?;
        let (mut h0, mut h1) = (Vec::new(), Vec::new());
        for _ in 0..count {
            h0.push(read_poly(&mut r, &params)?);
            h1.push(read_poly(&mut r, &params)?);
        }
        let signature = r.get_array()?;
        r.finish()?;
        Ok(Self {
            params,
            party,
            key_id,
            ct_digest,
            target,
            h0,
            h1,
            signature,
        })
    }
}

/// Combines every member's key-switch share into a ciphertext under the researcher's key
/// (named by the shares, which must all agree). Signatures, bindings and completeness are
/// verified here; the integrity check slot is verified when the researcher decrypts.
pub fn combine_key_switch(
    cpk: &CollectivePublicKey,
    ct: &Ciphertext,
    shares: &[KeySwitchShare],
) -> Result<Ciphertext> {
    if ct.key_id != cpk.key_id {
        return Err(HeError::WrongKey);
    }
    ct.ensure_floodable()?;
    let ordered = match_roster(cpk, shares, |s| s.party)?;
    let target = ordered
        .first()
        .map(|s| s.target)
        .ok_or(HeError::MissingShares(vec![]))?;
    let ct_digest = ct.digest();
    for share in &ordered {
        share.verify(cpk, &ct_digest, &target)?;
        if share.h0.len() != ct.blocks.len() {
            return Err(HeError::ShareMismatch(share.party));
        }
    }
    let mut blocks = Vec::with_capacity(ct.blocks.len());
    for (b, [c0, _]) in ct.blocks.iter().enumerate() {
        let mut out0 = c0.clone();
        let mut out1 = ordered[0].h1[b].clone();
        for (i, share) in ordered.iter().enumerate() {
            out0 += &share.h0[b];
            if i > 0 {
                out1 += &share.h1[b];
            }
        }
        blocks.push([out0, out1]);
    }
    let noise = flooded_noise_bound(ct.noise, cpk.parties()).ok_or(HeError::NoiseBudgetExceeded)?;
    Ok(Ciphertext {
        params: ct.params.clone(),
        key_id: target,
        key_kind: KeyKind::Single,
        payload: ct.payload,
        len: ct.len,
        noise,
        weight: ct.weight,
        check: ct.check,
        blocks,
    })
}

serde_as_blob!(ResearcherPublicKey);
serde_as_blob!(KeySwitchShare);
