//! The BFV parameter set, its noise budget and the flooding bound.
//!
//! One parameter set is defined: [`ParamSet::Bfv8192V1`]. Its numbers are
//! fixed here (not negotiated) so that every blob can name them with one byte.
//!
//! | quantity | value | why |
//! | --- | --- | --- |
//! | ring degree n | 8192 | 8191 usable SIMD slots per ciphertext block (one slot is the integrity check) |
//! | ciphertext modulus q | 3 primes just under 2^62, log2 q = 186.0 | the HE standard allows log2 q <= 218 at n = 8192 for 128-bit security; we stay 32 bits below (see [`crate::security`]) |
//! | plaintext modulus t | 18014398508400641 (prime, t = 1 mod 2n, about 2^54) | SIMD batching needs t = 1 mod 2n; 2^54 leaves exact integer sums up to 2^53 |
//! | error and secret distribution | centred binomial, variance 10 (sigma = 3.16), support [-20, 20] | as fhe.rs and the HE standard (sigma = 3.2) |
//! | statistical security lambda | 64 bits | flooding hides the ciphertext noise up to statistical distance 2^-64 per decryption |
//! | decryptable noise bound B_max | 2^44 | a ciphertext may be summed and scaled until its worst-case noise reaches 2^44 |
//! | flooding bound B_flood | 2^lambda * n * B_max = 2^121 | per party, uniform in [-B_flood, B_flood] |
//! | parties | at most 64 | keeps 64 * B_flood far below q / (2t) |
//!
//! **Correctness of decryption.** Writing a ciphertext as `c0 + c1*s = floor(q*m/t) + e`,
//! decryption rounds correctly when `|e| + 1 < q/(2t)`. After flooding, the noise is at
//! most `B_max + N * (B_flood + 2*n*beta^2)` which for N = 64 is below `2^127.01`, while
//! `q/(2t) = 2^131.0`: four bits of margin (checked by a unit test).
//!
//! **Flooding (smudging) bound.** For one coefficient, the statistical distance between
//! `U[-B, B]` and `x + U[-B, B]` is at most `|x| / B`. Summed over the `n` coefficients
//! of one polynomial this is `n * B_max / B_flood = 2^-lambda`. Each party floods its own
//! share with `B_flood`, so the bound holds as long as one party is honest.

use std::sync::{Arc, OnceLock};

use fhe_math::ntt::NttOperator;
use fhe_math::rns::ScalingFactor;
use fhe_math::rq::scaler::Scaler;
use fhe_math::rq::{Context, Poly, Representation};
use fhe_math::zq::Modulus;
use num_bigint::BigUint;

use crate::error::{HeError, Result};

/// Ring degree (number of coefficients, and of SIMD slots, per block).
pub const DEGREE: usize = 8192;
/// Ciphertext moduli: primes below 2^62 with `q_i = 1 mod 2n`.
pub const CIPHERTEXT_MODULI: [u64; 3] = [
    0x3fff_ffff_ffff_0001,
    0x3fff_ffff_fffe_8001,
    0x3fff_ffff_fff1_c001,
];
/// Plaintext modulus: a prime with `t = 1 mod 2n`, about 2^54.
pub const PLAINTEXT_MODULUS: u64 = 18_014_398_508_400_641;
/// Variance of the centred binomial distribution used for secrets and errors.
pub const VARIANCE: usize = 10;
/// Largest absolute value the centred binomial distribution can produce (2 * variance).
pub const CBD_BOUND: u128 = 20;
/// Statistical security parameter of the noise flooding, in bits.
pub const STATISTICAL_SECURITY_BITS: u32 = 64;
/// log2 of the largest ciphertext noise that may be decrypted with flooding.
pub const MAX_NOISE_LOG2: u32 = 44;
/// Largest number of parties in one collective key.
pub const MAX_PARTIES: usize = 64;

/// A named parameter set. Its one-byte id is written into every blob.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[non_exhaustive]
pub enum ParamSet {
    /// n = 8192, log2 q = 186 (3 x 62-bit primes), t ~ 2^54, lambda = 64.
    Bfv8192V1,
}

impl ParamSet {
    /// The byte written into blobs.
    pub fn id(self) -> u8 {
        match self {
            ParamSet::Bfv8192V1 => 1,
        }
    }

    /// The parameter set named by a blob byte.
    pub fn from_id(id: u8) -> Result<Self> {
        match id {
            1 => Ok(ParamSet::Bfv8192V1),
            other => Err(HeError::UnknownParamSet(other)),
        }
    }
}

/// Shared, precomputed parameters. Cheap to clone.
#[derive(Clone)]
pub struct Params(Arc<ParamsInner>);

impl std::fmt::Debug for Params {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Params").field("set", &self.0.set).finish()
    }
}

impl PartialEq for Params {
    fn eq(&self, other: &Self) -> bool {
        self.0.set == other.0.set
    }
}
impl Eq for Params {}

pub(crate) struct ParamsInner {
    set: ParamSet,
    ctx: Arc<Context>,
    scaler: Scaler,
    plain_q0: Modulus,
    t: Modulus,
    slots_ntt: NttOperator,
    /// `q mod t`, used to encode `floor(q*m/t)` exactly.
    q_mod_t: u64,
    /// `-t^{-1} mod q`, so that `(m * (q mod t) mod t) * (-t^{-1}) = floor(q*m/t) mod q`.
    neg_t_inv: BigUint,
}

static STANDARD: OnceLock<Params> = OnceLock::new();

impl Params {
    /// The standard parameter set (built once, then shared).
    pub fn standard() -> Params {
        STANDARD
            .get_or_init(|| build(ParamSet::Bfv8192V1).unwrap_or_else(|e| panic!("{e}")))
            .clone()
    }

    /// The parameters for a named set.
    pub fn from_set(set: ParamSet) -> Params {
        match set {
            ParamSet::Bfv8192V1 => Params::standard(),
        }
    }

    /// Which named set these are.
    pub fn set(&self) -> ParamSet {
        self.0.set
    }

    /// Ring degree n.
    pub fn degree(&self) -> usize {
        DEGREE
    }

    /// Plaintext modulus t.
    pub fn plaintext_modulus(&self) -> u64 {
        PLAINTEXT_MODULUS
    }

    /// Values usable per ciphertext block (one slot is reserved for the integrity check).
    pub fn slots_per_block(&self) -> usize {
        DEGREE - 1
    }

    /// log2 of the ciphertext modulus q.
    pub fn log2_q(&self) -> f64 {
        CIPHERTEXT_MODULI.iter().map(|q| (*q as f64).log2()).sum()
    }

    pub(crate) fn ctx(&self) -> &Arc<Context> {
        &self.0.ctx
    }

    pub(crate) fn moduli(&self) -> &[Modulus] {
        self.0.ctx.moduli_operators()
    }

    pub(crate) fn t(&self) -> &Modulus {
        &self.0.t
    }

    /// Encode coefficients `m` (each in `[0, t)`) as the polynomial `floor(q*m/t)` in NTT form.
    pub(crate) fn scale_up(&self, m: &[u64]) -> Result<Poly> {
        let mut v = m.to_vec();
        self.0.t.scalar_mul_vec(&mut v, self.0.q_mod_t);
        let mut p = poly_from_small_unsigned(self.ctx(), &v)?;
        p.change_representation(Representation::Ntt);
        p *= &self.0.neg_t_inv;
        Ok(p)
    }

    /// Round `t/q * v` for a polynomial `v = floor(q*m/t) + e`, returning `m` (coefficients mod t).
    pub(crate) fn scale_down(&self, v: &Poly) -> Result<Vec<u64>> {
        let mut v = v.clone();
        v.change_representation(Representation::PowerBasis);
        let d = v.scale(&self.0.scaler)?;
        let mut w: Vec<u64> = Vec::<u64>::from(&d)
            .iter()
            .map(|x| x + PLAINTEXT_MODULUS)
            .collect();
        self.0.plain_q0.reduce_vec(&mut w);
        self.0.t.reduce_vec(&mut w);
        Ok(w)
    }

    /// Slot values (mod t) to polynomial coefficients (inverse NTT over Z_t).
    pub(crate) fn slots_to_coeffs(&self, slots: &mut [u64]) {
        self.0.slots_ntt.backward(slots);
    }

    /// Polynomial coefficients to slot values (forward NTT over Z_t).
    pub(crate) fn coeffs_to_slots(&self, coeffs: &mut [u64]) {
        self.0.slots_ntt.forward(coeffs);
    }
}

/// Builds a polynomial from small non-negative integers that are below every modulus.
pub(crate) fn poly_from_small_unsigned(ctx: &Arc<Context>, v: &[u64]) -> Result<Poly> {
    use fhe_math::rq::traits::TryConvertFrom;
    Ok(Poly::try_convert_from(
        v,
        ctx,
        false,
        Representation::PowerBasis,
    )?)
}

fn build(set: ParamSet) -> Result<Params> {
    let ctx = Context::new_arc(&CIPHERTEXT_MODULI, DEGREE)?;
    let plain_ctx = Context::new_arc(&CIPHERTEXT_MODULI[..1], DEGREE)?;
    let t_big = BigUint::from(PLAINTEXT_MODULUS);
    let q = ctx.modulus().clone();
    let scaler = Scaler::new(&ctx, &plain_ctx, ScalingFactor::new(&t_big, &q))?;
    let t = Modulus::new(PLAINTEXT_MODULUS)?;
    let plain_q0 = Modulus::new(CIPHERTEXT_MODULI[0])?;
    let slots_ntt = NttOperator::new(&t, DEGREE)
        .ok_or_else(|| HeError::Math("plaintext modulus does not support batching".into()))?;
    let q_mod_t = u64::try_from(&q % &t_big).map_err(|e| HeError::Math(e.to_string()))?;
    // -t^{-1} mod q = q - t^{-1} mod q, computed with Fermat-free extended Euclid via modpow on each prime and CRT.
    let t_inv = mod_inverse(&t_big, &q)
        .ok_or_else(|| HeError::Math("t is not invertible modulo q".into()))?;
    let neg_t_inv = &q - t_inv;
    Ok(Params(Arc::new(ParamsInner {
        set,
        ctx,
        scaler,
        plain_q0,
        t,
        slots_ntt,
        q_mod_t,
        neg_t_inv,
    })))
}

/// Modular inverse by the extended Euclidean algorithm on big integers.
fn mod_inverse(a: &BigUint, m: &BigUint) -> Option<BigUint> {
    use num_bigint::BigInt;
    let (mut old_r, mut r) = (BigInt::from(a.clone()), BigInt::from(m.clone()));
    let (mut old_s, mut s) = (BigInt::from(1), BigInt::from(0));
    while r != BigInt::from(0) {
        let quotient = &old_r / &r;
        let next_r = &old_r - &quotient * &r;
        old_r = std::mem::replace(&mut r, next_r);
        let next_s = &old_s - &quotient * &s;
        old_s = std::mem::replace(&mut s, next_s);
    }
    if old_r != BigInt::from(1) {
        return None;
    }
    let m_int = BigInt::from(m.clone());
    let inv = ((old_s % &m_int) + &m_int) % &m_int;
    inv.to_biguint()
}

/// Worst-case noise of a fresh encryption under a key whose secret and error are the
/// sums of `parties` centred-binomial samples: `||e*u + e1 + s*e2|| <= 2*n*N*beta^2 + beta`.
pub fn fresh_noise_bound(parties: usize) -> u128 {
    2 * DEGREE as u128 * parties as u128 * CBD_BOUND * CBD_BOUND + CBD_BOUND
}

/// Largest noise a ciphertext may carry and still be decrypted with flooding.
pub fn max_noise() -> u128 {
    1u128 << MAX_NOISE_LOG2
}

/// The flooding bound of one party's decryption or key-switch share:
/// `2^lambda * n * B_max`.
pub fn flooding_bound() -> u128 {
    (1u128 << STATISTICAL_SECURITY_BITS) * DEGREE as u128 * max_noise()
}

/// Noise left in the output of a collective decryption or key switch with `parties` shares
/// (before the researcher's own decryption): `B_ct + N * (B_flood + 2*n*beta^2)`.
/// `None` means the bound does not fit in a `u128` (never the case for at most
/// [`MAX_PARTIES`] parties and a ciphertext within [`max_noise`]).
pub fn flooded_noise_bound(ct_noise: u128, parties: usize) -> Option<u128> {
    let per_party = flooding_bound() + 2 * DEGREE as u128 * CBD_BOUND * CBD_BOUND;
    ct_noise.checked_add(per_party.checked_mul(parties as u128)?)
}

/// log2 of `q / (2t)`: rounding decrypts correctly while `|e| + 1 < q / (2t)`.
pub fn correct_decryption_log2() -> f64 {
    let q: f64 = CIPHERTEXT_MODULI.iter().map(|&x| (x as f64).log2()).sum();
    q - (PLAINTEXT_MODULUS as f64).log2() - 1.0
}

/// Largest noise bound a single-key ciphertext may carry. Noise bounds are tracked in
/// `u128` with checked arithmetic; since `q/(2t) > 2^130` (checked by a unit test), any
/// bound that fits in a `u128` decrypts correctly.
pub const SINGLE_KEY_NOISE_LIMIT: u128 = u128::MAX;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn moduli_are_ntt_friendly_primes() {
        for q in CIPHERTEXT_MODULI.iter().chain([PLAINTEXT_MODULUS].iter()) {
            assert_eq!(q % (2 * DEGREE as u64), 1, "{q} must be 1 mod 2n");
            assert!(Modulus::new(*q).is_ok());
            assert!(is_prime(*q), "{q} must be prime");
        }
        assert!(PLAINTEXT_MODULUS < CIPHERTEXT_MODULI[0]);
    }

    #[test]
    fn modulus_is_within_the_he_standard_bound() {
        let p = Params::standard();
        assert!(
            p.log2_q() <= 218.0,
            "HE standard: log2 q <= 218 for n = 8192"
        );
        assert!(p.log2_q() > 185.9);
    }

    #[test]
    fn flooded_noise_still_decrypts_correctly_with_margin() {
        let worst = flooded_noise_bound(max_noise(), MAX_PARTIES).expect("fits");
        let worst_log2 = (worst as f64).log2();
        assert!(worst_log2 < 127.1, "{worst_log2}");
        assert!(
            correct_decryption_log2() > worst_log2 + 3.0,
            "need 3 bits of margin"
        );
        assert!(
            correct_decryption_log2() > 130.0,
            "u128 noise bounds must always decrypt"
        );
        assert!(fresh_noise_bound(MAX_PARTIES) < max_noise() / 1024);
    }

    #[test]
    fn flooding_is_2_to_the_lambda_times_n_times_the_noise_bound() {
        assert_eq!(flooding_bound(), 1u128 << (64 + 13 + 44));
    }

    #[test]
    fn blob_ids_round_trip() {
        assert_eq!(
            ParamSet::from_id(ParamSet::Bfv8192V1.id()),
            Ok(ParamSet::Bfv8192V1)
        );
        assert_eq!(ParamSet::from_id(9), Err(HeError::UnknownParamSet(9)));
    }

    #[test]
    fn scale_up_then_down_is_identity() {
        let p = Params::standard();
        let m: Vec<u64> = (0..DEGREE as u64)
            .map(|i| (i * 7_919_113) % PLAINTEXT_MODULUS)
            .collect();
        let up = p.scale_up(&m).expect("encode");
        assert_eq!(p.scale_down(&up).expect("decode"), m);
    }

    fn is_prime(n: u64) -> bool {
        let n = n as u128;
        let mut d = n - 1;
        let mut s = 0;
        while d.is_multiple_of(2) {
            d /= 2;
            s += 1;
        }
        let pow = |mut b: u128, mut e: u128| {
            let mut r = 1u128;
            b %= n;
            while e > 0 {
                if e & 1 == 1 {
                    r = mul_mod(r, b, n);
                }
                b = mul_mod(b, b, n);
                e >>= 1;
            }
            r
        };
        'outer: for a in [2u128, 3, 5, 7, 11, 13, 17, 19, 23, 29, 31, 37] {
            let mut x = pow(a, d);
            if x == 1 || x == n - 1 {
                continue;
            }
            for _ in 0..s - 1 {
                x = mul_mod(x, x, n);
                if x == n - 1 {
                    continue 'outer;
                }
            }
            return false;
        }
        true
    }

    fn mul_mod(a: u128, b: u128, m: u128) -> u128 {
        // a, b < 2^62, so a*b < 2^124 fits in u128.
        (a * b) % m
    }
}
