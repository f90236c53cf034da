//! Known-answer test: our discrete Gaussian sampler reproduces libprio-rs' published sample
//! vectors bit for bit when fed the same TurboSHAKE128 stream (see tests/data/.../PROVENANCE.txt).

use num_bigint::BigInt;
use salus_dp::DiscreteGaussian;
use sha3::digest::{ExtendableOutput, Update, XofReader};
use sha3::{TurboShake128, TurboShake128Core, TurboShake128Reader};

/// libprio's SeedStreamTurboShake128::from_seed as a rand 0.9 RNG.
struct TurboShakeStream(TurboShake128Reader);

impl TurboShakeStream {
    fn from_seed(seed: &[u8; 32]) -> Self {
        let mut xof = TurboShake128::from_core(TurboShake128Core::new(1));
        xof.update(&0u16.to_le_bytes()); // length of the (empty) domain separation tag
        xof.update(&[32u8]); // seed length
        xof.update(seed);
        Self(xof.finalize_xof())
    }
}

impl rand::RngCore for TurboShakeStream {
    fn next_u32(&mut self) -> u32 {
        let mut word = [0u8; 4];
        self.fill_bytes(&mut word);
        u32::from_le_bytes(word)
    }
    fn next_u64(&mut self) -> u64 {
        let mut word = [0u8; 8];
        self.fill_bytes(&mut word);
        u64::from_le_bytes(word)
    }
    fn fill_bytes(&mut self, dest: &mut [u8]) {
        self.0.read(dest);
    }
}

impl rand::CryptoRng for TurboShakeStream {}

#[derive(serde::Deserialize)]
struct Vector {
    seed: String,
    std_num: u128,
    std_denom: u128,
    samples: Vec<i128>,
}

fn load(name: &str) -> Vector {
    let path = format!(
        "{}/tests/data/prio-discrete-gauss/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    let text = std::fs::read_to_string(&path).expect("vector file is committed");
    serde_json::from_str(&text).expect("vector file parses")
}

fn check(name: &str) {
    let vector = load(name);
    let seed: [u8; 32] = hex::decode(&vector.seed)
        .expect("hex seed")
        .try_into()
        .expect("32-byte seed");
    let sampler =
        DiscreteGaussian::from_ratio(vector.std_num, vector.std_denom).expect("valid sigma");
    let mut rng = TurboShakeStream::from_seed(&seed);
    for (index, expected) in vector.samples.iter().enumerate() {
        let expected = BigInt::from(*expected);
        let got = sampler.sample_bigint(&mut rng);
        assert_eq!(got, expected, "{name}: sample {index} differs");
    }
}

#[test]
fn sigma_3() {
    check("discrete_gauss_3.json");
}

#[test]
fn sigma_9() {
    check("discrete_gauss_9.json");
}

#[test]
fn sigma_100() {
    check("discrete_gauss_100.json");
}

#[test]
fn sigma_2_342() {
    check("discrete_gauss_2.342.json");
}

#[test]
fn sigma_41293847() {
    check("discrete_gauss_41293847.json");
}

#[test]
fn sigma_9999999999999999999999() {
    check("discrete_gauss_9999999999999999999999.json");
}
