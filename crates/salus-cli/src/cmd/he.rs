//! `salus he ...`: encrypted inference of a linear/logistic model.
//!
//! `infer` runs the three roles in one process and shows that encrypted predictions equal
//! plaintext predictions. `keygen`, `encrypt`, `score` and `decrypt` run the roles
//! separately through files (data holder: keygen, encrypt, decrypt; model owner: score).
//! `fit` makes the model file (plaintext ridge logistic regression).

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Context as _, bail};
use salus_he::inference::{
    EncryptedFeatures, EncryptedScores, decrypt_scores, decrypt_scores_fixed, encrypt_features,
    plaintext_fixed_score, quantization_error_bound, score_encrypted, sigmoid,
};
use salus_he::model::LinearModel;
use salus_he::{Params, ResearcherKey, ResearcherPublicKey};

#[derive(Debug, clap::Subcommand)]
pub enum HeCommand {
    /// Encrypt rows, score them homomorphically, decrypt, and compare with plaintext.
    Infer {
        /// CSV of numeric features with the 0/1 label in the last column.
        #[arg(long)]
        data: PathBuf,
        /// Model JSON (from `salus he fit`).
        #[arg(long)]
        model: PathBuf,
        /// Print one JSON object instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Fit a ridge logistic regression on a CSV and write the model JSON.
    Fit {
        /// CSV of numeric features with the 0/1 label in the last column.
        #[arg(long)]
        data: PathBuf,
        /// Where to write the model JSON.
        #[arg(long)]
        out: PathBuf,
        /// Ridge penalty on the standardised weights.
        #[arg(long, default_value_t = 1.0)]
        ridge: f64,
        /// Optional file with one feature name per line (default: x1, x2, ...).
        #[arg(long)]
        names: Option<PathBuf>,
    },
    /// Data holder: make a key pair.
    Keygen {
        /// Secret key file (keep private).
        #[arg(long)]
        secret: PathBuf,
        /// Public key file (give to the model owner).
        #[arg(long)]
        public: PathBuf,
    },
    /// Data holder: standardise and encrypt the rows of a CSV.
    Encrypt {
        /// The holder's public key.
        #[arg(long)]
        public: PathBuf,
        /// Model JSON (for its public means and scales).
        #[arg(long)]
        model: PathBuf,
        /// CSV of rows (a label column, if present, is ignored).
        #[arg(long)]
        data: PathBuf,
        /// Encrypted features output.
        #[arg(long)]
        out: PathBuf,
    },
    /// Model owner: score encrypted features.
    Score {
        /// The holder's public key.
        #[arg(long)]
        public: PathBuf,
        /// Model JSON.
        #[arg(long)]
        model: PathBuf,
        /// Encrypted features from `encrypt`.
        #[arg(long)]
        features: PathBuf,
        /// Encrypted scores output.
        #[arg(long)]
        out: PathBuf,
    },
    /// Data holder: decrypt scores and print logits, probabilities and classes.
    Decrypt {
        /// The holder's secret key.
        #[arg(long)]
        secret: PathBuf,
        /// Encrypted scores from `score`.
        #[arg(long)]
        scores: PathBuf,
        /// Print JSON instead of CSV.
        #[arg(long)]
        json: bool,
    },
}

pub fn run(command: HeCommand) -> anyhow::Result<()> {
    match command {
        HeCommand::Infer { data, model, json } => infer(&data, &model, json),
        HeCommand::Fit {
            data,
            out,
            ridge,
            names,
        } => fit(&data, &out, ridge, names.as_deref()),
        HeCommand::Keygen { secret, public } => keygen(&secret, &public),
        HeCommand::Encrypt {
            public,
            model,
            data,
            out,
        } => encrypt(&public, &model, &data, &out),
        HeCommand::Score {
            public,
            model,
            features,
            out,
        } => score(&public, &model, &features, &out),
        HeCommand::Decrypt {
            secret,
            scores,
            json,
        } => decrypt(&secret, &scores, json),
    }
}

/// Numeric rows of a CSV. The first line may be a scikit-learn count header
/// (`569,30,name,name`) or column names; `label_last` splits off a 0/1 label column.
struct Dataset {
    rows: Vec<Vec<f64>>,
    labels: Vec<Option<bool>>,
}

fn read_csv(path: &Path, dim: Option<usize>) -> anyhow::Result<Dataset> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let mut lines = text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .peekable();
    if let Some((_, first)) = lines.peek() {
        let numeric = first.split(',').all(|f| f.trim().parse::<f64>().is_ok());
        let sklearn_header =
            first.split(',').count() != text.lines().nth(1).map_or(0, |l| l.split(',').count());
        if !numeric || sklearn_header {
            lines.next();
        }
    }
    let mut data = Dataset {
        rows: Vec::new(),
        labels: Vec::new(),
    };
    for (i, line) in lines {
        let fields: Vec<f64> = line
            .split(',')
            .enumerate()
            .map(|(j, f)| {
                f.trim()
                    .parse::<f64>()
                    .with_context(|| format!("line {}, field {}: not a number", i + 1, j + 1))
            })
            .collect::<anyhow::Result<_>>()?;
        let (features, label) = match dim {
            Some(d) if fields.len() == d => (fields, None),
            _ => {
                let (label, features) = fields
                    .split_last()
                    .with_context(|| format!("line {}: empty", i + 1))?;
                let label = match *label {
                    0.0 => false,
                    1.0 => true,
                    _ => bail!("line {}: the last column must be a 0/1 label", i + 1),
                };
                (features.to_vec(), Some(label))
            }
        };
        if let Some(d) = dim.or(data.rows.first().map(Vec::len)) {
            anyhow::ensure!(
                features.len() == d,
                "line {}: expected {d} features, found {}",
                i + 1,
                features.len()
            );
        }
        data.rows.push(features);
        data.labels.push(label);
    }
    anyhow::ensure!(
        !data.rows.is_empty(),
        "{} holds no data rows",
        path.display()
    );
    Ok(data)
}

fn read_model(path: &Path) -> anyhow::Result<LinearModel> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let model: LinearModel =
        serde_json::from_str(&text).with_context(|| format!("parsing model {}", path.display()))?;
    model.validate()?;
    Ok(model)
}

fn write_file(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    // Write to a temporary file and rename, so a crash never leaves half a key behind.
    let tmp = path.with_extension("partial");
    std::fs::write(&tmp, bytes).with_context(|| format!("writing {}", tmp.display()))?;
    std::fs::rename(&tmp, path).with_context(|| format!("writing {}", path.display()))
}

fn read_file(path: &Path) -> anyhow::Result<Vec<u8>> {
    std::fs::read(path).with_context(|| format!("reading {}", path.display()))
}

fn standardized(model: &LinearModel, rows: &[Vec<f64>]) -> anyhow::Result<Vec<Vec<f64>>> {
    Ok(rows
        .iter()
        .map(|r| model.standardize(r))
        .collect::<Result<_, _>>()?)
}

#[derive(serde::Serialize)]
struct InferReport {
    rows: usize,
    features: usize,
    same_class: usize,
    all_same_class: bool,
    exact_fixed_point_match: bool,
    max_abs_score_difference: f64,
    max_error_bound: f64,
    max_abs_probability_difference: f64,
    accuracy_vs_labels: Option<f64>,
    keygen_seconds: f64,
    encrypt_seconds: f64,
    score_seconds: f64,
    decrypt_seconds: f64,
    features_ciphertext_bytes: usize,
    scores_ciphertext_bytes: usize,
}

fn infer(data: &Path, model_path: &Path, json: bool) -> anyhow::Result<()> {
    let model = read_model(model_path)?;
    let data = read_csv(data, None)?;
    let z = standardized(&model, &data.rows)?;
    let mut rng = rand::rng();

    let t = Instant::now();
    let holder = ResearcherKey::generate(&Params::standard(), &mut rng)?;
    let keygen_seconds = t.elapsed().as_secs_f64();
    let t = Instant::now();
    let features = encrypt_features(holder.public_key(), &z, &mut rng)?;
    let encrypt_seconds = t.elapsed().as_secs_f64();
    let t = Instant::now();
    let scores = score_encrypted(
        holder.public_key(),
        &features,
        &model.weights,
        model.intercept,
        &mut rng,
    )?;
    let score_seconds = t.elapsed().as_secs_f64();
    let t = Instant::now();
    let fixed = decrypt_scores_fixed(&holder, &scores)?;
    let logits = decrypt_scores(&holder, &scores)?;
    let decrypt_seconds = t.elapsed().as_secs_f64();

    let mut report = InferReport {
        rows: z.len(),
        features: model.dim(),
        same_class: 0,
        all_same_class: false,
        exact_fixed_point_match: true,
        max_abs_score_difference: 0.0,
        max_error_bound: 0.0,
        max_abs_probability_difference: 0.0,
        accuracy_vs_labels: None,
        keygen_seconds,
        encrypt_seconds,
        score_seconds,
        decrypt_seconds,
        features_ciphertext_bytes: features.to_bytes().len(),
        scores_ciphertext_bytes: scores.to_bytes().len(),
    };
    let mut correct = 0usize;
    let mut labelled = 0usize;
    for (i, row) in z.iter().enumerate() {
        let plain = model.score(row);
        report.exact_fixed_point_match &=
            fixed[i] == plaintext_fixed_score(row, &model.weights, model.intercept)?;
        report.same_class += usize::from((plain > 0.0) == (logits[i] > 0.0));
        report.max_abs_score_difference = report
            .max_abs_score_difference
            .max((plain - logits[i]).abs());
        report.max_error_bound = report
            .max_error_bound
            .max(quantization_error_bound(row, &model.weights));
        report.max_abs_probability_difference = report
            .max_abs_probability_difference
            .max((sigmoid(plain) - sigmoid(logits[i])).abs());
        if let Some(y) = data.labels[i] {
            labelled += 1;
            correct += usize::from((logits[i] > 0.0) == y);
        }
    }
    report.all_same_class = report.same_class == report.rows;
    if labelled > 0 {
        report.accuracy_vs_labels = Some(correct as f64 / labelled as f64);
    }
    print_infer(&report, json)?;
    anyhow::ensure!(
        report.all_same_class && report.exact_fixed_point_match,
        "encrypted and plaintext predictions differ"
    );
    Ok(())
}

fn print_infer(r: &InferReport, json: bool) -> anyhow::Result<()> {
    if json {
        println!("{}", serde_json::to_string(r)?);
        return Ok(());
    }
    println!(
        "encrypted inference: {} rows x {} features (BFV n = 8192, single key held by the data holder)",
        r.rows, r.features
    );
    println!("  same class as plaintext:  {}/{}", r.same_class, r.rows);
    println!("  fixed-point scores equal: {}", r.exact_fixed_point_match);
    println!(
        "  max |logit difference|:   {:.3e} (bound {:.3e})",
        r.max_abs_score_difference, r.max_error_bound
    );
    println!(
        "  max |probability diff|:   {:.3e}",
        r.max_abs_probability_difference
    );
    if let Some(a) = r.accuracy_vs_labels {
        println!("  accuracy vs labels:       {:.4}", a);
    }
    println!(
        "  timings: keygen {:.3} s, encrypt {:.3} s, score {:.3} s, decrypt {:.3} s",
        r.keygen_seconds, r.encrypt_seconds, r.score_seconds, r.decrypt_seconds
    );
    println!(
        "  ciphertexts: features {} bytes, scores {} bytes",
        r.features_ciphertext_bytes, r.scores_ciphertext_bytes
    );
    Ok(())
}

fn fit(data: &Path, out: &Path, ridge: f64, names: Option<&Path>) -> anyhow::Result<()> {
    let data = read_csv(data, None)?;
    let labels: Vec<bool> = data
        .labels
        .iter()
        .map(|l| l.context("every row needs a 0/1 label in the last column"))
        .collect::<anyhow::Result<_>>()?;
    let d = data.rows[0].len();
    let feature_names: Vec<String> = match names {
        Some(p) => std::fs::read_to_string(p)?
            .lines()
            .map(|l| l.trim().to_string())
            .filter(|l| !l.is_empty())
            .collect(),
        None => (1..=d).map(|j| format!("x{j}")).collect(),
    };
    anyhow::ensure!(
        feature_names.len() == d,
        "{} names for {d} features",
        feature_names.len()
    );
    let model = LinearModel::fit_logistic(feature_names, &data.rows, &labels, ridge)?;
    write_file(out, serde_json::to_string_pretty(&model)?.as_bytes())?;
    println!("wrote {} ({} features, ridge {ridge})", out.display(), d);
    Ok(())
}

fn keygen(secret: &Path, public: &Path) -> anyhow::Result<()> {
    let key = ResearcherKey::generate(&Params::standard(), &mut rand::rng())?;
    write_file(secret, &key.to_secret_bytes())?;
    write_file(public, &key.public_key().to_bytes())?;
    println!(
        "key {} written: secret {}, public {}",
        key.public_key().key_id(),
        secret.display(),
        public.display()
    );
    Ok(())
}

fn encrypt(public: &Path, model: &Path, data: &Path, out: &Path) -> anyhow::Result<()> {
    let pk = ResearcherPublicKey::from_bytes(&read_file(public)?)?;
    let model = read_model(model)?;
    let data = read_csv(data, Some(model.dim()))?;
    let features = encrypt_features(&pk, &standardized(&model, &data.rows)?, &mut rand::rng())?;
    write_file(out, &features.to_bytes())?;
    println!("encrypted {} rows to {}", features.rows(), out.display());
    Ok(())
}

fn score(public: &Path, model: &Path, features: &Path, out: &Path) -> anyhow::Result<()> {
    let pk = ResearcherPublicKey::from_bytes(&read_file(public)?)?;
    let model = read_model(model)?;
    let features = EncryptedFeatures::from_bytes(&read_file(features)?)?;
    let scores = score_encrypted(
        &pk,
        &features,
        &model.weights,
        model.intercept,
        &mut rand::rng(),
    )?;
    write_file(out, &scores.to_bytes())?;
    println!(
        "scored {} encrypted rows to {}",
        scores.rows(),
        out.display()
    );
    Ok(())
}

fn decrypt(secret: &Path, scores: &Path, json: bool) -> anyhow::Result<()> {
    let key = ResearcherKey::from_secret_bytes(&read_file(secret)?)?;
    let scores = EncryptedScores::from_bytes(&read_file(scores)?)?;
    let logits = decrypt_scores(&key, &scores)?;
    if json {
        let rows: Vec<_> = logits
            .iter()
            .map(|s| serde_json::json!({"logit": s, "probability": sigmoid(*s), "class": u8::from(*s > 0.0)}))
            .collect();
        println!("{}", serde_json::to_string(&rows)?);
    } else {
        println!("row,logit,probability,class");
        for (i, s) in logits.iter().enumerate() {
            println!("{},{s:.6},{:.6},{}", i + 1, sigmoid(*s), u8::from(*s > 0.0));
        }
    }
    Ok(())
}
