//! Regenerates `tests/data/breast_cancer_model.json`, the committed model used by the
//! encrypted-inference tests and `salus he infer`:
//!
//! ```text
//! cargo run -p salus-he --example fit_breast_cancer > crates/salus-he/tests/data/breast_cancer_model.json
//! ```
//!
//! Ridge logistic regression (penalty 1.0 on standardised weights) on all 569 rows, the
//! same fit as `salus he fit --ridge 1.0`.

use salus_he::model::LinearModel;

const DATA: &str = include_str!("../tests/data/breast_cancer.csv");
const NAMES: &str = include_str!("../tests/data/breast_cancer_features.txt");

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut rows = Vec::new();
    let mut labels = Vec::new();
    // The first line is scikit-learn's count header ("569,30,malignant,benign").
    for line in DATA.lines().skip(1) {
        let values: Vec<f64> = line.split(',').map(str::parse).collect::<Result<_, _>>()?;
        let (label, features) = values.split_last().ok_or("empty row")?;
        rows.push(features.to_vec());
        labels.push(*label == 1.0);
    }
    let names = NAMES.lines().map(str::to_string).collect();
    let mut model = LinearModel::fit_logistic(names, &rows, &labels, 1.0)?;
    model.provenance = format!(
        "{}; data: Breast Cancer Wisconsin (Diagnostic), UCI (CC BY 4.0), copy shipped in scikit-learn 1.9.1",
        model.provenance
    );
    println!("{}", serde_json::to_string_pretty(&model)?);
    Ok(())
}
