//! Ciphertexts: encryption under a public key, addition, sums and integer scaling.
//!
//! A [`Ciphertext`] is a list of BFV blocks `(c0, c1)` with `c0 + c1*s = floor(q*m/t) + e`.
//! Each block carries 8191 values in SIMD slots plus one **integrity check slot** (the last
//! slot). A fresh encryption puts 1 in the check slot; sums add it and scaling by `k`
//! multiplies it, and the expected value travels in the ciphertext's public metadata.
//! After decryption the check slot must match: a share made with a wrong secret key or
//! for another ciphertext turns the whole block into uniformly random values, so the
//! check fails except with probability 1/t (about 2^-54) per block.
//!
//! The metadata also carries a worst-case noise bound (updated by every operation, so
//! that flooding can be sized and an undecryptable ciphertext is refused early) and the
//! contribution weight that guards the plaintext range (see [`crate::encoding`]).

use fhe_math::rq::{Poly, Representation};
use num_bigint::BigUint;
use rand::{CryptoRng, Rng};

use crate::encoding::{MAX_WEIGHT, Payload};
use crate::error::{HeError, Result};
use crate::keys::{CollectivePublicKey, KeyId};
use crate::params::{DEGREE, Params, SINGLE_KEY_NOISE_LIMIT, fresh_noise_bound, max_noise};
use crate::ring::{read_poly, sample_small, write_poly};
use crate::wire::{BlobKind, Reader, Writer, digest, serde_as_blob};

/// Whose key a ciphertext is under, which decides how much noise it may carry.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum KeyKind {
    /// A collective key of `parties` members: decrypted with flooding, noise <= B_max.
    Collective { parties: u32 },
    /// A single-key (researcher or data holder) key: any bound that fits in a u128.
    Single,
}

impl KeyKind {
    fn noise_limit(self) -> u128 {
        match self {
            KeyKind::Collective { .. } => max_noise(),
            KeyKind::Single => SINGLE_KEY_NOISE_LIMIT,
        }
    }
}

/// The public encryption key material, whichever kind of key it comes from
/// (unnameable outside the crate: the module is private).
pub struct KeyView<'a> {
    pub(crate) params: &'a Params,
    pub(crate) p0: &'a Poly,
    pub(crate) p1: &'a Poly,
    pub(crate) key_id: KeyId,
    pub(crate) kind: KeyKind,
}

/// A public key values can be encrypted under: the collective key or a researcher's key.
/// (Sealed: implemented only by [`CollectivePublicKey`] and [`crate::ResearcherPublicKey`].)
pub trait EncryptionKey: sealed::Sealed {}

pub(crate) mod sealed {
    #![allow(unreachable_pub)]
    /// Gives the crate access to the key material without making it public.
    pub trait Sealed {
        fn view(&self) -> super::KeyView<'_>;
    }
}

impl EncryptionKey for CollectivePublicKey {}
impl sealed::Sealed for CollectivePublicKey {
    fn view(&self) -> KeyView<'_> {
        KeyView {
            params: &self.params,
            p0: &self.p0,
            p1: &self.p1,
            key_id: self.key_id,
            kind: KeyKind::Collective {
                parties: self.parties() as u32,
            },
        }
    }
}

/// An encrypted vector of integers or fixed-point reals.
#[derive(Clone)]
pub struct Ciphertext {
    pub(crate) params: Params,
    pub(crate) key_id: KeyId,
    pub(crate) key_kind: KeyKind,
    pub(crate) payload: Payload,
    pub(crate) len: u32,
    pub(crate) noise: u128,
    pub(crate) weight: u64,
    pub(crate) check: u64,
    pub(crate) blocks: Vec<[Poly; 2]>,
}

impl std::fmt::Debug for Ciphertext {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ciphertext")
            .field("key_id", &self.key_id)
            .field("payload", &self.payload)
            .field("len", &self.len)
            .field("blocks", &self.blocks.len())
            .finish_non_exhaustive()
    }
}

/// Encrypts slot values (already reduced mod t) block by block.
pub(crate) fn encrypt_slots<R: Rng + CryptoRng>(
    key: &KeyView<'_>,
    slots: &[u64],
    payload: Payload,
    len: usize,
    rng: &mut R,
) -> Result<Ciphertext> {
    let per_block = key.params.slots_per_block();
    let block_count = slots.len().div_ceil(per_block).max(1);
    let mut blocks = Vec::with_capacity(block_count);
    for b in 0..block_count {
        let chunk =
            &slots[(b * per_block).min(slots.len())..((b + 1) * per_block).min(slots.len())];
        let mut values = vec![0u64; DEGREE];
        values[..chunk.len()].copy_from_slice(chunk);
        values[DEGREE - 1] = 1; // the integrity check slot
        key.params.slots_to_coeffs(&mut values);
        blocks.push(encrypt_block(key, &values, rng)?);
    }
    let len = u32::try_from(len).map_err(|_| HeError::Encoding("too many values".into()))?;
    Ok(Ciphertext {
        params: key.params.clone(),
        key_id: key.key_id,
        key_kind: key.kind,
        payload,
        len,
        noise: fresh_noise_bound(match key.kind {
            KeyKind::Collective { parties } => parties as usize,
            KeyKind::Single => 1,
        }),
        weight: 1,
        check: 1,
        blocks,
    })
}

/// `c0 = p0*u + e1 + floor(q*m/t)`, `c1 = p1*u + e2` for plaintext coefficients `m`.
pub(crate) fn encrypt_block<R: Rng + CryptoRng>(
    key: &KeyView<'_>,
    coeffs: &[u64],
    rng: &mut R,
) -> Result<[Poly; 2]> {
    let u = zeroize::Zeroizing::new(sample_small(key.params, rng)?);
    let e1 = zeroize::Zeroizing::new(sample_small(key.params, rng)?);
    let e2 = zeroize::Zeroizing::new(sample_small(key.params, rng)?);
    let mut c0 = key.p0 * u.as_ref();
    c0 += e1.as_ref();
    c0 += &key.params.scale_up(coeffs)?;
    let mut c1 = key.p1 * u.as_ref();
    c1 += e2.as_ref();
    Ok([c0, c1])
}

impl Ciphertext {
    /// Number of logical values.
    pub fn len(&self) -> usize {
        self.len as usize
    }

    /// True when it holds no values.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// What the values mean (integers or fixed point).
    pub fn payload(&self) -> Payload {
        self.payload
    }

    /// The key it is encrypted under.
    pub fn key_id(&self) -> KeyId {
        self.key_id
    }

    /// Worst-case noise bound tracked through the operations.
    pub fn noise_bound(&self) -> u128 {
        self.noise
    }

    /// Total contribution weight (`sum |k|` over the fresh encryptions it combines).
    pub fn weight(&self) -> u64 {
        self.weight
    }

    /// Number of BFV blocks.
    pub fn block_count(&self) -> usize {
        self.blocks.len()
    }

    /// Homomorphic addition (same key, payload and length).
    pub fn add(&self, other: &Ciphertext) -> Result<Ciphertext> {
        self.compatible(other)?;
        let noise = self
            .noise
            .checked_add(other.noise)
            .and_then(|n| n.checked_add(1))
            .ok_or(HeError::NoiseBudgetExceeded)?;
        let weight = self.weight.saturating_add(other.weight);
        let check = self.params.t().add(self.check, other.check);
        let blocks = self
            .blocks
            .iter()
            .zip(&other.blocks)
            .map(|(a, b)| [&a[0] + &b[0], &a[1] + &b[1]])
            .collect();
        self.derived(blocks, noise, weight, check)
    }

    /// Sum of one or more ciphertexts.
    pub fn sum<'a, I>(items: I) -> Result<Ciphertext>
    where
        I: IntoIterator<Item = &'a Ciphertext>,
    {
        let mut iter = items.into_iter();
        let first = iter
            .next()
            .ok_or(HeError::Incompatible("cannot sum an empty list"))?;
        iter.try_fold(first.clone(), |acc, ct| acc.add(ct))
    }

    /// Multiplies every value by the public integer `k`.
    pub fn scale(&self, k: i64) -> Result<Ciphertext> {
        let abs = u128::from(k.unsigned_abs());
        let noise = self
            .noise
            .checked_add(1)
            .and_then(|n| n.checked_mul(abs))
            .and_then(|n| n.checked_add(1))
            .ok_or(HeError::NoiseBudgetExceeded)?;
        let weight = self.weight.saturating_mul(k.unsigned_abs());
        let check = self
            .params
            .t()
            .mul(self.check, crate::encoding::to_mod_t(k));
        let factor = BigUint::from(k.unsigned_abs());
        let blocks = self
            .blocks
            .iter()
            .map(|[c0, c1]| {
                let (mut a, mut b) = (c0.clone(), c1.clone());
                a *= &factor;
                b *= &factor;
                if k < 0 { [-a, -b] } else { [a, b] }
            })
            .collect();
        self.derived(blocks, noise, weight, check)
    }

    fn derived(
        &self,
        blocks: Vec<[Poly; 2]>,
        noise: u128,
        weight: u64,
        check: u64,
    ) -> Result<Self> {
        if noise > self.key_kind.noise_limit() {
            return Err(HeError::NoiseBudgetExceeded);
        }
        if weight > MAX_WEIGHT {
            return Err(HeError::RangeExceeded {
                max_weight: MAX_WEIGHT,
            });
        }
        Ok(Ciphertext {
            blocks,
            noise,
            weight,
            check,
            ..self.clone_without_blocks()
        })
    }

    fn clone_without_blocks(&self) -> Ciphertext {
        Ciphertext {
            params: self.params.clone(),
            key_id: self.key_id,
            key_kind: self.key_kind,
            payload: self.payload,
            len: self.len,
            noise: self.noise,
            weight: self.weight,
            check: self.check,
            blocks: Vec::new(),
        }
    }

    fn compatible(&self, other: &Ciphertext) -> Result<()> {
        if self.params != other.params {
            return Err(HeError::ParamSetMismatch("ciphertexts"));
        }
        if self.key_id != other.key_id {
            return Err(HeError::Incompatible("encrypted under different keys"));
        }
        if self.payload != other.payload {
            return Err(HeError::Incompatible(
                "different payload kinds (integer vs fixed point, or scale)",
            ));
        }
        if self.len != other.len || self.blocks.len() != other.blocks.len() {
            return Err(HeError::Incompatible("different lengths"));
        }
        Ok(())
    }

    /// Refuses to hand out decryption material for a ciphertext whose noise exceeds
    /// what the flooding was sized for.
    pub(crate) fn ensure_floodable(&self) -> Result<()> {
        if self.noise > max_noise() {
            return Err(HeError::NoiseBudgetExceeded);
        }
        Ok(())
    }

    /// Versioned bytes.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut w = Writer::with_header(BlobKind::Ciphertext, &self.params);
        w.put_raw(&self.key_id.0);
        match self.key_kind {
            KeyKind::Collective { parties } => {
                w.put_u8(0);
                w.put_u32(parties);
            }
            KeyKind::Single => {
                w.put_u8(1);
                w.put_u32(1);
            }
        }
        w.put_u8(self.payload.to_byte());
        w.put_u32(self.len);
        w.put_u128(self.noise);
        w.put_u64(self.weight);
        w.put_u64(self.check);
        w.put_u32(self.blocks.len() as u32);
        for [c0, c1] in &self.blocks {
            write_poly(&mut w, c0);
            write_poly(&mut w, c1);
        }
        w.into_bytes()
    }

    /// Parses [`Ciphertext::to_bytes`], checking that the metadata is consistent.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self> {
        let (mut r, params) = Reader::open(bytes, BlobKind::Ciphertext)?;
        let key_id = KeyId(r.get_array()?);
        let key_kind = match (r.get_u8()?, r.get_u32()?) {
            (0, p) if (1..=crate::params::MAX_PARTIES as u32).contains(&p) => {
                KeyKind::Collective { parties: p }
            }
            (1, 1) => KeyKind::Single,
            _ => return Err(HeError::Malformed("key kind")),
        };
        let payload = Payload::from_byte(r.get_u8()?)?;
        let len = r.get_u32()?;
        let (noise, weight, check) = (r.get_u128()?, r.get_u64()?, r.get_u64()?);
        let per_block = params.slots_per_block();
        let expected_blocks = payload.slots_for(len as usize).div_ceil(per_block).max(1);
        let count = r.get_count(expected_blocks)?;
        if count != expected_blocks || check >= params.plaintext_modulus() {
            return Err(HeError::Malformed("ciphertext metadata"));
        }
        // No pre-allocation from an untrusted count: reading stops at the first truncation.
        let mut blocks = Vec::new();
        for _ in 0..count {
            blocks.push([read_poly(&mut r, &params)?, read_poly(&mut r, &params)?]);
        }
        r.finish()?;
        Ok(Ciphertext {
            params,
            key_id,
            key_kind,
            payload,
            len,
            noise,
            weight,
            check,
            blocks,
        })
    }

    /// SHA-256 digest of the serialized ciphertext; shares are bound to it.
    pub fn digest(&self) -> [u8; 32] {
        digest("salus-he/ct/v1", &[&self.to_bytes()])
    }

    pub(crate) fn c1_ntt(&self, block: usize) -> &Poly {
        debug_assert_eq!(self.blocks[block][1].representation(), &Representation::Ntt);
        &self.blocks[block][1]
    }
}

serde_as_blob!(Ciphertext);

/// Encrypts signed integers (each `|x| <= 2^36`) under a collective or researcher key.
pub fn encrypt_i64s<K: EncryptionKey, R: Rng + CryptoRng>(
    key: &K,
    values: &[i64],
    rng: &mut R,
) -> Result<Ciphertext> {
    let slots = crate::encoding::encode_integers(values)?;
    encrypt_slots(&key.view(), &slots, Payload::Integers, values.len(), rng)
}

/// Encrypts reals as signed fixed point `round(v * 2^F)` (two limbs per value).
pub fn encrypt_fixed<K: EncryptionKey, R: Rng + CryptoRng>(
    key: &K,
    values: &[f64],
    scale: crate::encoding::FixedPoint,
    rng: &mut R,
) -> Result<Ciphertext> {
    let slots = crate::encoding::encode_fixed(values, scale)?;
    let payload = Payload::Fixed {
        frac_bits: scale.frac_bits(),
    };
    encrypt_slots(&key.view(), &slots, payload, values.len(), rng)
}
