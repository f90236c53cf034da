//! Collective decryption with noise flooding (Mouchet et al., Protocol 3 with output key 0).
//!
//! Party `i` publishes, per block, `h_i = s_i * c1 + E_i` where `E_i` is uniform in
//! `[-B_flood, B_flood]` ([`crate::params::flooding_bound`]). Then
//! `c0 + sum h_i = floor(q*m/t) + e + sum E_i`: anyone holding every share learns `m`,
//! while the flooding hides the ciphertext noise `e` (which depends on the secret keys)
//! up to statistical distance 2^-64. Shares are signed and bound to
//! `(key id, ciphertext digest, party id)`; the integrity check slot is verified after
//! decoding.

use ed25519_dalek::Signer;
use fhe_math::rq::Poly;
use rand::{CryptoRng, Rng};

use crate::ciphertext::Ciphertext;
use crate::encoding::{MAX_WEIGHT, Payload, decode_fixed, decode_integers};
use crate::error::{HeError, Result};
use crate::keys::{CollectivePublicKey, KeyId, Party, PartyId, verify_signature};
use crate::params::{DEGREE, Params, flooding_bound};
use crate::ring::{read_poly, sample_flooding, write_poly};
use crate::wire::{BlobKind, Reader, Writer, digest, serde_as_blob};

/// One party's flooded decryption share of one ciphertext.
#[derive(Clone)]
pub struct DecryptionShare {
    params: Params,
    party: PartyId,
    key_id: KeyId,
    ct_digest: [u8; 32],
    blocks: Vec<Poly>,
    signature: [u8; 64],
}

impl std::fmt::Debug for DecryptionShare {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DecryptionShare")
            .field("party", &self.party)
            .finish_non_exhaustive()
    }
}

/// The message a share's signature covers.
pub(crate) fn share_message(
    label: &str,
    params: &Params,
    party: PartyId,
    key_id: &KeyId,
    ct_digest: &[u8; 32],
    target: &[u8; 32],
    polys: &[&Poly],
) -> [u8; 32] {
    let mut w = Writer::new();
    for p in polys {
        write_poly(&mut w, p);
    }
    digest(
        label,
        &[
            &[params.set().id()],
            &party.to_le_bytes(),
            &key_id.0,
            ct_digest,
            target,
            &w.into_bytes(),
        ],
    )
}

const DECRYPTION_LABEL: &str = "salus-he/decryption-share/v1";

impl Party {
    /// This party's flooded decryption share of `ct` (which must be under the confirmed key).
    pub fn decryption_share<R: Rng + CryptoRng>(
        &self,
        ct: &Ciphertext,
        rng: &mut R,
    ) -> Result<DecryptionShare> {
        self.check_can_share(ct)?;
        let mut blocks = Vec::with_capacity(ct.blocks.len());
        for b in 0..ct.blocks.len() {
            let mut h = ct.c1_ntt(b) * self.secret.as_ref();
            h += &sample_flooding(&self.params, flooding_bound(), rng)?;
            blocks.push(h);
        }
        let ct_digest = ct.digest();
        let refs: Vec<&Poly> = blocks.iter().collect();
        let message = share_message(
            DECRYPTION_LABEL,
            &self.params,
            self.id,
            &ct.key_id,
            &ct_digest,
            &[0; 32],
            &refs,
        );
        Ok(DecryptionShare {
            params: self.params.clone(),
            party: self.id,
            key_id: ct.key_id,
            ct_digest,
            blocks,
            signature: self.signing.sign(&message).to_bytes(),
        })
    }

    pub(crate) fn check_can_share(&self, ct: &Ciphertext) -> Result<()> {
        if ct.params != self.params {
            return Err(HeError::ParamSetMismatch("ciphertext and party"));
        }
        if ct.key_id != self.confirmed_key()? {
            return Err(HeError::WrongKey);
        }
        ct.ensure_floodable()
    }
}

impl DecryptionShare {
    /// The party that made it.
    pub fn party(&self) -> PartyId {
        self.party
    }

    fn verify(&self, cpk: &CollectivePublicKey, ct_digest: &[u8; 32]) -> Result<()> {
        let member = cpk.member(self.party)?;
        let refs: Vec<&Poly> = self.blocks.iter().collect();
        let message = share_message(
            DECRYPTION_LABEL,
            &self.params,
            self.party,
            &self.key_id,
            &self.ct_digest,
            &[0; 32],
            &refs,
        );
        verify_signature(self.party, &member.verifying_key, &message, &self.signature)?;
        if self.key_id != cpk.key_id || &self.ct_digest != ct_digest {
            return Err(HeError::ShareMismatch(self.party));
        }
        Ok(())
    }

    /// Versioned bytes.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut w = Writer::with_header(BlobKind::DecryptionShare, &self.params);
        w.put_u32(self.party);
        w.put_raw(&self.key_id.0);
        w.put_raw(&self.ct_digest);
        w.put_u32(self.blocks.len() as u32);
        for p in &self.blocks {
            write_poly(&mut w, p);
        }
        w.put_raw(&self.signature);
        w.into_bytes()
    }

    /// Parses [`DecryptionShare::to_bytes`] (the signature is checked when combining).
    pub fn from_bytes(bytes: &[u8]) -> Result<Self> {
        let (mut r, params) = Reader::open(bytes, BlobKind::DecryptionShare)?;
        let party = r.get_u32()?;
        let key_id = KeyId(r.get_array()?);
        let ct_digest = r.get_array()?;
        let count = r.get_count(usize::MAX)?;
        let mut blocks = Vec::new();
        for _ in 0..count {
            blocks.push(read_poly(&mut r, &params)?);
        }
        let signature = r.get_array()?;
        r.finish()?;
        Ok(Self {
            params,
            party,
            key_id,
            ct_digest,
            blocks,
            signature,
        })
    }
}

/// Checks that the shares come from exactly the members of `cpk`, once each, and returns
/// them in roster order.
pub(crate) fn match_roster<'a, S, F>(
    cpk: &CollectivePublicKey,
    shares: &'a [S],
    party_of: F,
) -> Result<Vec<&'a S>>
where
    F: Fn(&S) -> PartyId,
{
    let mut ordered = Vec::with_capacity(cpk.parties());
    for share in shares {
        cpk.member(party_of(share))?;
    }
    let mut missing = Vec::new();
    for entry in cpk.roster() {
        let mut found = shares.iter().filter(|s| party_of(s) == entry.party);
        match (found.next(), found.next()) {
            (Some(s), None) => ordered.push(s),
            (Some(_), Some(_)) => return Err(HeError::DuplicateParty(entry.party)),
            (None, _) => missing.push(entry.party),
        }
    }
    if !missing.is_empty() {
        return Err(HeError::MissingShares(missing));
    }
    Ok(ordered)
}

/// Combines every member's decryption share into the plaintext, after verifying
/// signatures, bindings, completeness and the integrity check slot.
pub fn combine_decryption(
    cpk: &CollectivePublicKey,
    ct: &Ciphertext,
    shares: &[DecryptionShare],
) -> Result<Decrypted> {
    if ct.key_id != cpk.key_id {
        return Err(HeError::WrongKey);
    }
    ct.ensure_floodable()?;
    let ordered = match_roster(cpk, shares, |s| s.party)?;
    let ct_digest = ct.digest();
    for share in &ordered {
        share.verify(cpk, &ct_digest)?;
        if share.blocks.len() != ct.blocks.len() {
            return Err(HeError::ShareMismatch(share.party));
        }
    }
    let mut sums = Vec::with_capacity(ct.blocks.len());
    for (b, block) in ct.blocks.iter().enumerate() {
        let mut v = block[0].clone();
        for share in &ordered {
            v += &share.blocks[b];
        }
        sums.push(v);
    }
    decode_blocks(ct, &sums)
}

/// Decodes `c0 + c1*s` per block, verifies the check slots and unpacks the payload.
pub(crate) fn decode_blocks(ct: &Ciphertext, phases: &[Poly]) -> Result<Decrypted> {
    if ct.weight > MAX_WEIGHT {
        return Err(HeError::RangeExceeded {
            max_weight: MAX_WEIGHT,
        });
    }
    let per_block = ct.params.slots_per_block();
    let mut slots = Vec::with_capacity(phases.len() * per_block);
    for phase in phases {
        let mut values = ct.params.scale_down(phase)?;
        ct.params.coeffs_to_slots(&mut values);
        if values[DEGREE - 1] != ct.check {
            return Err(HeError::IntegrityCheckFailed);
        }
        slots.extend_from_slice(&values[..per_block]);
    }
    slots.truncate(ct.payload.slots_for(ct.len()));
    Ok(Decrypted {
        payload: ct.payload,
        len: ct.len(),
        slots,
    })
}

/// A verified decryption result.
#[derive(Clone, PartialEq, Eq)]
pub struct Decrypted {
    payload: Payload,
    len: usize,
    slots: Vec<u64>,
}

impl std::fmt::Debug for Decrypted {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Aggregates only, but keep values out of logs anyway.
        f.debug_struct("Decrypted")
            .field("payload", &self.payload)
            .field("len", &self.len)
            .finish()
    }
}

impl Decrypted {
    /// The integer values (errors if the ciphertext held fixed-point values).
    pub fn to_i64s(&self) -> Result<Vec<i64>> {
        match self.payload {
            Payload::Integers => Ok(decode_integers(&self.slots)),
            Payload::Fixed { .. } => Err(HeError::Incompatible("fixed-point payload: use to_f64s")),
        }
    }

    /// The real values (errors if the ciphertext held integers).
    pub fn to_f64s(&self) -> Result<Vec<f64>> {
        match self.payload {
            Payload::Fixed { frac_bits } => Ok(decode_fixed(&self.slots, self.len, frac_bits)),
            Payload::Integers => Err(HeError::Incompatible("integer payload: use to_i64s")),
        }
    }

    /// What the values mean.
    pub fn payload(&self) -> Payload {
        self.payload
    }
}

serde_as_blob!(DecryptionShare);

#[cfg(test)]
mod tests {
    use fhe_math::rq::Representation;
    use num_bigint::BigUint;
    use rand::SeedableRng;
    use rand_chacha::ChaCha20Rng;

    use crate::{CollectivePublicKey, Crs, Params, Party, encrypt_i64s, params::flooding_bound};

    /// The share minus `s_i * c1` is the flooding noise: it must be uniform on
    /// `[-B_flood, B_flood]`, i.e. reach close to the bound and have standard deviation
    /// `B_flood / sqrt(3)`. Without flooding it would be zero.
    #[test]
    fn decryption_shares_carry_flooding_of_the_stated_size() {
        let mut rng = ChaCha20Rng::seed_from_u64(21);
        let params = Params::standard();
        let crs = Crs::derive(&params, b"flooding").expect("crs");
        let mut party = Party::new(1, &params, &crs, &mut rng).expect("party");
        let cpk = CollectivePublicKey::combine([&party.public_key_share()]).expect("cpk");
        party.confirm_collective_key(&cpk).expect("confirm");
        let ct = encrypt_i64s(&cpk, &[1, 2, 3], &mut rng).expect("enc");
        let share = party.decryption_share(&ct, &mut rng).expect("share");

        let mut noise = share.blocks[0].clone();
        noise -= &(ct.c1_ntt(0) * party.secret.as_ref());
        noise.change_representation(Representation::PowerBasis);
        let q = params.ctx().modulus().clone();
        let half_q = &q >> 1u32;
        let bound = flooding_bound() as f64;
        let values: Vec<f64> = Vec::<BigUint>::from(&noise)
            .into_iter()
            .map(|v| {
                if v > half_q {
                    -big_to_f64(&(&q - v))
                } else {
                    big_to_f64(&v)
                }
            })
            .collect();
        let max = values.iter().fold(0.0f64, |m, v| m.max(v.abs()));
        let sd = (values.iter().map(|v| v * v).sum::<f64>() / values.len() as f64).sqrt();
        assert!(
            max <= bound && max > 0.99 * bound,
            "max {max:e} vs bound {bound:e}"
        );
        let expected_sd = bound / 3f64.sqrt();
        assert!(
            (sd / expected_sd - 1.0).abs() < 0.03,
            "sd {sd:e} vs {expected_sd:e}"
        );
    }

    fn big_to_f64(v: &BigUint) -> f64 {
        v.to_u64_digits()
            .iter()
            .rev()
            .fold(0.0, |acc, d| acc * 2f64.powi(64) + *d as f64)
    }
}
