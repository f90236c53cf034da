//! Cross-checks against fhe.rs, the reference BFV implementation this crate builds on:
//! ciphertexts made by fhe.rs decrypt with our decoder and ours decrypt with fhe.rs, for
//! the same secret key and the same moduli. This pins down the encoding `floor(q*m/t)`
//! and the rounding of decryption against an independent implementation.

use std::sync::Arc;

use fhe::bfv::{self, BfvParametersBuilder, Encoding};
use fhe_math::rq::traits::TryConvertFrom;
use fhe_math::rq::{Context, Poly, Representation};
use fhe_traits::{FheDecoder, FheDecrypter, FheEncoder, FheEncrypter, Serialize};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha20Rng;

use crate::ciphertext::{KeyKind, KeyView, encrypt_block};
use crate::keys::KeyId;
use crate::params::{CIPHERTEXT_MODULI, DEGREE, PLAINTEXT_MODULUS, Params};
use crate::ring::poly_from_signed;

fn fhe_params() -> Arc<bfv::BfvParameters> {
    BfvParametersBuilder::new()
        .set_degree(DEGREE)
        .set_plaintext_modulus(PLAINTEXT_MODULUS)
        .set_moduli(&CIPHERTEXT_MODULI)
        .build_arc()
        .expect("fhe.rs accepts the Salus parameters")
}

/// Secret-key coefficients out of fhe.rs's protobuf (`repeated sint64 coeffs = 1`, packed).
fn secret_coefficients(sk: &bfv::SecretKey) -> Vec<i64> {
    let bytes = sk.to_bytes();
    assert_eq!(bytes[0], 0x0a, "field 1, length-delimited");
    let (len, mut pos) = varint(&bytes, 1);
    let end = pos + len as usize;
    let mut out = Vec::new();
    while pos < end {
        let (v, next) = varint(&bytes, pos);
        pos = next;
        out.push(((v >> 1) as i64) ^ -((v & 1) as i64));
    }
    out
}

fn varint(bytes: &[u8], mut pos: usize) -> (u64, usize) {
    let (mut v, mut shift) = (0u64, 0);
    loop {
        let b = bytes[pos];
        pos += 1;
        v |= u64::from(b & 0x7f) << shift;
        if b & 0x80 == 0 {
            return (v, pos);
        }
        shift += 7;
    }
}

/// Moves a polynomial between the two libraries' (equal) contexts.
fn rebase(p: &Poly, ctx: &Arc<Context>) -> Poly {
    let mut p = p.clone();
    p.change_representation(Representation::Ntt);
    Poly::try_convert_from(Vec::<u64>::from(&p), ctx, false, Representation::Ntt)
        .expect("same shape")
}

fn our_secret(params: &Params, coeffs: &[i64]) -> Poly {
    let wide: Vec<i128> = coeffs.iter().map(|&c| i128::from(c)).collect();
    let mut s = poly_from_signed(params, &wide).expect("secret");
    s.change_representation(Representation::Ntt);
    s
}

fn random_message(rng: &mut ChaCha20Rng) -> Vec<u64> {
    (0..DEGREE)
        .map(|_| rng.random_range(0..PLAINTEXT_MODULUS))
        .collect()
}

#[test]
fn fhe_rs_ciphertexts_decrypt_with_our_decoder() {
    let mut rng = ChaCha20Rng::seed_from_u64(11);
    let par = fhe_params();
    let params = Params::standard();
    let sk = bfv::SecretKey::random(&par, &mut rng);
    let pk = bfv::PublicKey::new(&sk, &mut rng);
    let m = random_message(&mut rng);
    let pt = bfv::Plaintext::try_encode(&m, Encoding::poly(), &par).expect("encode");
    let ct = pk.try_encrypt(&pt, &mut rng).expect("encrypt");
    let s = our_secret(&params, &secret_coefficients(&sk));
    let mut phase = &rebase(&ct[1], params.ctx()) * &s;
    phase += &rebase(&ct[0], params.ctx());
    assert_eq!(params.scale_down(&phase).expect("decode"), m);
}

#[test]
fn our_ciphertexts_decrypt_with_fhe_rs() {
    let mut rng = ChaCha20Rng::seed_from_u64(12);
    let par = fhe_params();
    let params = Params::standard();
    let sk = bfv::SecretKey::random(&par, &mut rng);
    let s = our_secret(&params, &secret_coefficients(&sk));
    let a = Poly::random(params.ctx(), Representation::Ntt, &mut rng);
    let e = crate::ring::sample_small(&params, &mut rng).expect("e");
    let mut p0 = -(&a * &s);
    p0 += &e;
    let view = KeyView {
        params: &params,
        p0: &p0,
        p1: &a,
        key_id: KeyId([0; 32]),
        kind: KeyKind::Single,
    };
    let m = random_message(&mut rng);
    let [c0, c1] = encrypt_block(&view, &m, &mut rng).expect("encrypt");
    let ctx = par.context_at_level(0).expect("level 0");
    let ct = bfv::Ciphertext::new(vec![rebase(&c0, ctx), rebase(&c1, ctx)], &par).expect("ct");
    let pt = sk.try_decrypt(&ct).expect("decrypt");
    assert_eq!(
        Vec::<u64>::try_decode(&pt, Encoding::poly()).expect("decode"),
        m
    );
}
