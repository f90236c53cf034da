use rand::SeedableRng;
use salus_synth::*;
fn main() {
    let args: Vec<String> = std::env::args().collect();
    let eps: f64 = args.get(1).map(|s| s.parse().unwrap()).unwrap_or(1.0);
    let method = if args.get(2).map(|s| s.as_str()) == Some("aim") { Method::Aim } else { Method::Mst };
    let table = salus_table::read_csv_path(std::path::Path::new("crates/salus-synth/tests/data/adult/adult.csv"), &salus_table::CsvOptions::with_delimiter(b';')).unwrap();
    let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(1);
    let t = std::time::Instant::now();
    let mut options = FitOptions { method, ..Default::default() };
    options.domain.specs.push(ColumnSpec { name: "age".into(), bounds: Some(("17".into(), "90".into())), ..Default::default() });
    let model = fit(&table, &Budget::from_epsilon_delta(eps, 1e-9).unwrap(), &options, &mut rng).unwrap();
    println!("fit {:?} iterations {} rho {} spent {}", t.elapsed(), model.iterations, model.privacy.rho_budget, model.privacy.rho_spent);
    for m in &model.measured { if m.columns.len() > 1 { println!("  {:?} sigma {:.1}", m.columns, m.sigma); } }
    let t = std::time::Instant::now();
    let synth = model.sample(table.nrows(), &[], &mut rng).unwrap();
    println!("sample {:?}", t.elapsed());
    // 2-way TVD over raw values
    let names = table.names();
    let col = |t: &salus_table::Table, n: &str| -> Vec<String> { let c = t.column(n).unwrap(); (0..c.len()).map(|r| c.display(r).map(|s| s.to_string()).unwrap_or_default()).collect() };
    let mut tvds = vec![];
    for i in 0..names.len() { for j in i+1..names.len() {
        let (a1,b1,a2,b2) = (col(&table,names[i]), col(&table,names[j]), col(&synth,names[i]), col(&synth,names[j]));
        let mut h = std::collections::HashMap::<(String,String),(f64,f64)>::new();
        for r in 0..a1.len() { h.entry((a1[r].clone(),b1[r].clone())).or_default().0 += 1.0/a1.len() as f64; }
        for r in 0..a2.len() { h.entry((a2[r].clone(),b2[r].clone())).or_default().1 += 1.0/a2.len() as f64; }
        tvds.push(0.5*h.values().map(|(x,y)|(x-y).abs()).sum::<f64>());
    }}
    println!("tvd2 {:.4}", tvds.iter().sum::<f64>()/tvds.len() as f64);
}
