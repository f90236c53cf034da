//! `salus bench he`: one in-process threshold-HE aggregation (collective key generation,
//! N encryptions, the encrypted sum, collective decryption with flooding), timed.

use std::time::Instant;

use anyhow::Context as _;
use rand::Rng as _;
use salus_he::{
    Ciphertext, CollectivePublicKey, Crs, Params, Party, PublicKeyShare, combine_decryption,
    encrypt_i64s,
};

#[derive(Debug, clap::Args)]
pub struct HeBenchArgs {
    /// Number of parties (all of them decrypt together: N-of-N).
    #[arg(long, default_value_t = 3)]
    pub parties: u32,
    /// Number of integer values each party encrypts.
    #[arg(long, default_value_t = 4096)]
    pub slots: usize,
    /// Print one JSON object instead of text.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, serde::Serialize)]
struct Report {
    parties: u32,
    slots: usize,
    keygen_seconds: f64,
    encrypt_seconds_mean: f64,
    add_seconds: f64,
    decrypt_seconds: f64,
    ciphertext_bytes: usize,
    correct: bool,
}

pub fn run(args: HeBenchArgs) -> anyhow::Result<()> {
    anyhow::ensure!(args.parties >= 1, "--parties must be at least 1");
    anyhow::ensure!(args.slots >= 1, "--slots must be at least 1");
    let report = measure(&args)?;
    if args.json {
        println!("{}", serde_json::to_string(&report)?);
    } else {
        println!(
            "threshold BFV (n = 8192, log2 q = 186, 64-bit flooding), {} parties, {} slots\n  \
             keygen {:.4} s, encrypt {:.4} s/party, add {:.4} s, decrypt {:.4} s, ciphertext {} bytes, correct: {}",
            report.parties,
            report.slots,
            report.keygen_seconds,
            report.encrypt_seconds_mean,
            report.add_seconds,
            report.decrypt_seconds,
            report.ciphertext_bytes,
            report.correct
        );
    }
    Ok(())
}

fn measure(args: &HeBenchArgs) -> anyhow::Result<Report> {
    let mut rng = rand::rng();
    let params = Params::standard();
    let inputs: Vec<Vec<i64>> = (0..args.parties)
        .map(|_| {
            (0..args.slots)
                .map(|_| rng.random_range(-(1 << 20)..(1 << 20)))
                .collect()
        })
        .collect();

    let start = Instant::now();
    let crs = Crs::derive(&params, b"salus bench he")?;
    let mut parties: Vec<Party> = (1..=args.parties)
        .map(|id| Party::new(id, &params, &crs, &mut rng))
        .collect::<Result<_, _>>()?;
    let shares: Vec<PublicKeyShare> = parties.iter().map(Party::public_key_share).collect();
    let cpk = CollectivePublicKey::combine(&shares)?;
    for party in &mut parties {
        party.confirm_collective_key(&cpk)?;
    }
    let keygen_seconds = start.elapsed().as_secs_f64();

    let start = Instant::now();
    let cts: Vec<Ciphertext> = inputs
        .iter()
        .map(|v| encrypt_i64s(&cpk, v, &mut rng))
        .collect::<Result<_, _>>()?;
    let encrypt_seconds_mean = start.elapsed().as_secs_f64() / f64::from(args.parties);

    let start = Instant::now();
    let total = Ciphertext::sum(&cts)?;
    let add_seconds = start.elapsed().as_secs_f64();

    let start = Instant::now();
    let dec_shares = parties
        .iter()
        .map(|p| p.decryption_share(&total, &mut rng))
        .collect::<Result<Vec<_>, _>>()?;
    let result = combine_decryption(&cpk, &total, &dec_shares)?
        .to_i64s()
        .context("decoding the sum")?;
    let decrypt_seconds = start.elapsed().as_secs_f64();

    let expected: Vec<i64> = (0..args.slots)
        .map(|i| inputs.iter().map(|v| v[i]).sum())
        .collect();
    Ok(Report {
        parties: args.parties,
        slots: args.slots,
        keygen_seconds,
        encrypt_seconds_mean,
        add_seconds,
        decrypt_seconds,
        ciphertext_bytes: cts[0].to_bytes().len(),
        correct: result == expected,
    })
}
