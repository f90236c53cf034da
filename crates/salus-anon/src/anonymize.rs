//! The anonymization entry point: search the optimal transformation, apply it, and
//! report what was released with its risk and utility.

use std::collections::{BTreeMap, HashMap};

use salus_table::{Column, Table};
use serde::{Deserialize, Serialize};

use crate::encode::{Encoded, encode};
use crate::evaluate::{EmdTree, Evaluation, Evaluator, Score, SensitiveContext};
use crate::groupify::{Scratch, groupify};
use crate::hierarchy::Hierarchy;
use crate::model::{Aggregate, Metric, PrivacyModel};
use crate::risk::{RiskAssessment, RiskOptions, assess_classes};
use crate::search::{SearchStats, search};
use crate::{AnonError, Result};

/// What to anonymize and how (hierarchies already loaded).
#[derive(Debug, Clone)]
pub struct AnonymizationSpec {
    /// Quasi-identifiers and their hierarchies (any order; the engine uses table order).
    pub quasi_identifiers: Vec<(String, Hierarchy)>,
    /// Privacy models, all of which must hold.
    pub models: Vec<PrivacyModel>,
    /// Hierarchies of sensitive attributes (for hierarchical t-closeness).
    pub sensitive_hierarchies: BTreeMap<String, Hierarchy>,
    /// Largest share of released records that may be suppressed, in [0, 1].
    pub suppression_limit: f64,
    /// The utility metric the optimum minimizes.
    pub metric: Metric,
    /// Research subset for delta-presence: `true` rows are released, the table is the
    /// population.
    pub research_subset: Option<Vec<bool>>,
    /// Risk threshold and population size for the report.
    pub risk: RiskOptions,
    /// Worker threads (0 = available cores, at most 4).
    pub threads: usize,
}

impl AnonymizationSpec {
    /// A spec with no models, no suppression and ARX's default Loss metric.
    pub fn new(quasi_identifiers: Vec<(String, Hierarchy)>) -> Self {
        AnonymizationSpec {
            quasi_identifiers,
            models: Vec::new(),
            sensitive_hierarchies: BTreeMap::new(),
            suppression_limit: 0.0,
            metric: Metric::default(),
            research_subset: None,
            risk: RiskOptions::default(),
            threads: 0,
        }
    }
}

/// Utility of the released table, with ARX's definitions.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UtilityReport {
    /// The metric the search minimized.
    pub metric: String,
    /// Its value for the chosen transformation (geometric mean of the vector for "rank").
    pub value: f64,
    /// The sorted per-attribute vector when the aggregate is "rank".
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rank: Option<Vec<f64>>,
    /// Per-attribute values of the metric (multi-dimensional metrics).
    pub per_attribute: BTreeMap<String, f64>,
    /// ARX Loss (gs-factor 0.5, geometric mean), in [0, 1].
    pub loss: f64,
    /// Discernibility (suppressed records cost n each).
    pub discernibility: f64,
    /// Non-monotonic non-uniform entropy (bits).
    pub non_uniform_entropy: f64,
    /// Average equivalence class size (suppressed records as one class).
    pub average_class_size: f64,
    /// Records in the input that could be released.
    pub records_in: usize,
    /// Records released.
    pub records_out: usize,
}

/// `R.json`: what `salus anonymize --report` writes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AnonymizationReport {
    /// Generalization level chosen per quasi-identifier.
    pub transformation: BTreeMap<String, usize>,
    /// Records suppressed (removed).
    pub suppressed: usize,
    /// Size of the smallest equivalence class of the released table.
    pub k: usize,
    /// Risk of the released table.
    pub risk: RiskAssessment,
    /// Utility of the released table.
    pub utility: UtilityReport,
    /// The risk score of the released table, in [0, 1].
    pub score: f64,
    /// True when every model holds and `score <= threshold`.
    pub passed: bool,
}

/// The result of [`anonymize`].
#[derive(Debug, Clone)]
pub struct Anonymization {
    /// The released table: generalized, suppressed rows removed, same columns.
    pub output: Table,
    /// Input row of each output row.
    pub kept_rows: Vec<usize>,
    /// The report.
    pub report: AnonymizationReport,
    /// Levels in quasi-identifier (table column) order.
    pub levels: Vec<(String, usize)>,
    /// The optimum's metric value.
    pub score: Score,
    /// Search counters.
    pub stats: SearchStats,
}

/// Finds the optimal transformation of `table` and applies it.
pub fn anonymize(table: &Table, spec: &AnonymizationSpec) -> Result<Anonymization> {
    let prepared = Prepared::new(table, spec)?;
    let evaluator = prepared.evaluator(&spec.metric)?;
    let optimum = search(&evaluator, prepared.threads)?;
    prepared.release(
        table,
        spec,
        &optimum.levels,
        optimum.evaluation,
        optimum.stats,
    )
}

/// Applies a given transformation (levels by quasi-identifier name) and reports on it,
/// without searching. Fails when the transformation violates the models.
pub fn apply_transformation(
    table: &Table,
    spec: &AnonymizationSpec,
    levels: &BTreeMap<String, usize>,
) -> Result<Anonymization> {
    let prepared = Prepared::new(table, spec)?;
    let node = prepared.levels_from_names(levels)?;
    let evaluator = prepared.evaluator(&spec.metric)?;
    let evaluation = prepared.evaluate(&evaluator, &node);
    if !evaluation.anonymous {
        return Err(AnonError::NoSolution);
    }
    prepared.release(table, spec, &node, evaluation, SearchStats::default())
}

/// The metric value of a transformation (ARX's information loss), whether or not it
/// satisfies the models: `(score, per-attribute values, acceptable)`.
pub fn transformation_score(
    table: &Table,
    spec: &AnonymizationSpec,
    levels: &BTreeMap<String, usize>,
) -> Result<(Score, Vec<f64>, bool)> {
    let prepared = Prepared::new(table, spec)?;
    let node = prepared.levels_from_names(levels)?;
    let evaluator = prepared.evaluator(&spec.metric)?;
    let e = prepared.evaluate(&evaluator, &node);
    Ok((e.score, e.per_attribute, e.anonymous))
}

/// Encoded input plus the per-model context.
struct Prepared<'a> {
    enc: Encoded,
    spec: &'a AnonymizationSpec,
    model_attribute: Vec<Option<usize>>,
    threads: usize,
}

impl<'a> Prepared<'a> {
    fn new(table: &Table, spec: &'a AnonymizationSpec) -> Result<Self> {
        validate(spec)?;
        // Table column order, as ARX orders its transformation vectors.
        let mut qis: Vec<(String, Hierarchy)> = spec.quasi_identifiers.clone();
        for (name, _) in &qis {
            table.column(name)?;
        }
        qis.sort_by_key(|(name, _)| table.column_index(name).unwrap_or(usize::MAX));
        let mut sensitive: Vec<String> = Vec::new();
        for model in &spec.models {
            if let Some(a) = model.sensitive_attribute() {
                if qis.iter().any(|(q, _)| q == a) {
                    return Err(AnonError::Config(format!(
                        "`{a}` cannot be both a quasi-identifier and a sensitive attribute"
                    )));
                }
                if !sensitive.iter().any(|s| s == a) {
                    sensitive.push(a.to_string());
                }
            }
        }
        let enc = encode(table, &qis, &sensitive, spec.research_subset.as_deref())?;
        let model_attribute = spec
            .models
            .iter()
            .map(|m| {
                m.sensitive_attribute()
                    .and_then(|a| sensitive.iter().position(|s| s == a))
            })
            .collect();
        let threads = match spec.threads {
            0 => std::thread::available_parallelism()
                .map_or(1, |n| n.get())
                .min(4),
            t => t,
        };
        Ok(Prepared {
            enc,
            spec,
            model_attribute,
            threads,
        })
    }

    fn evaluator(&self, metric: &Metric) -> Result<Evaluator<'_>> {
        let sensitive = self
            .enc
            .sensitive
            .iter()
            .map(|s| {
                let needs_tree = self.spec.models.iter().any(|m| {
                    matches!(m, PrivacyModel::HierarchicalTCloseness { attribute, .. } if *attribute == s.name)
                });
                let emd_tree = if needs_tree {
                    let h = self.spec.sensitive_hierarchies.get(&s.name).ok_or_else(|| {
                        AnonError::Config(format!(
                            "hierarchical t-closeness on `{}` needs its hierarchy in sensitive_hierarchies",
                            s.name
                        ))
                    })?;
                    Some(emd_tree(&s.name, &s.values, h)?)
                } else {
                    None
                };
                Ok(SensitiveContext { emd_tree })
            })
            .collect::<Result<Vec<_>>>()?;
        let released = self.enc.released_rows as f64;
        let code_counts = self
            .enc
            .qis
            .iter()
            .enumerate()
            .map(|(q, qi)| {
                let mut counts = vec![0.0; qi.labels[0].len()];
                for &(key, count) in &self.enc.cells {
                    if key & self.enc.subset_bit != 0 {
                        counts[self.enc.qi_code(key, q) as usize] += f64::from(count);
                    }
                }
                counts
            })
            .collect();
        Ok(Evaluator {
            enc: &self.enc,
            models: &self.spec.models,
            model_attribute: self.model_attribute.clone(),
            sensitive,
            max_outliers: (self.spec.suppression_limit * released + 1e-9).floor() as usize,
            metric: metric.clone(),
            weights: weights(&self.enc, metric),
            code_counts,
        })
    }

    fn levels_from_names(&self, levels: &BTreeMap<String, usize>) -> Result<Vec<usize>> {
        self.enc
            .qis
            .iter()
            .map(|qi| {
                let level = *levels.get(&qi.name).ok_or_else(|| {
                    AnonError::Config(format!(
                        "the transformation gives no level for `{}`",
                        qi.name
                    ))
                })?;
                if level >= qi.levels() {
                    return Err(AnonError::Config(format!(
                        "level {level} of `{}` does not exist (its hierarchy has {} levels)",
                        qi.name,
                        qi.levels()
                    )));
                }
                Ok(level)
            })
            .collect()
    }

    fn evaluate(&self, evaluator: &Evaluator<'_>, node: &[usize]) -> Evaluation {
        let classes = groupify(
            &self.enc,
            node,
            !self.enc.sensitive.is_empty(),
            &mut Scratch::default(),
        );
        evaluator.evaluate(node, &classes)
    }

    /// Builds the released table and the report for transformation `node`.
    fn release(
        &self,
        table: &Table,
        spec: &AnonymizationSpec,
        node: &[usize],
        evaluation: Evaluation,
        stats: SearchStats,
    ) -> Result<Anonymization> {
        let base = self.evaluator(&spec.metric)?;
        let classes = groupify(
            &self.enc,
            node,
            !self.enc.sensitive.is_empty(),
            &mut Scratch::default(),
        );
        let outliers = base.outliers(&classes);
        let outlier_keys: std::collections::HashSet<u128> = (0..outliers.len())
            .filter(|&c| outliers[c])
            .map(|c| classes.keys[c])
            .collect();
        let subset = spec.research_subset.as_deref();
        let kept_rows: Vec<usize> = (0..table.nrows())
            .filter(|&row| subset.is_none_or(|s| s[row]))
            .filter(|&row| !outlier_keys.contains(&self.row_key(row, node)))
            .collect();
        let output = self.generalized_table(table, node, &kept_rows)?;
        let kept_sizes: Vec<u32> = (0..classes.keys.len())
            .filter(|&c| !outliers[c] && classes.count[c] > 0)
            .map(|c| classes.count[c])
            .collect();
        let risk = assess_classes(&kept_sizes, &spec.risk)?;
        let utility = self.utility(spec, node, &evaluation, kept_rows.len())?;
        let levels: Vec<(String, usize)> = self
            .enc
            .qis
            .iter()
            .zip(node)
            .map(|(q, &l)| (q.name.clone(), l))
            .collect();
        let report = AnonymizationReport {
            transformation: levels.iter().cloned().collect(),
            suppressed: evaluation.suppressed,
            k: risk.k,
            score: risk.score,
            passed: evaluation.anonymous && risk.passed,
            risk,
            utility,
        };
        Ok(Anonymization {
            output,
            kept_rows,
            report,
            levels,
            score: evaluation.score,
            stats,
        })
    }

    fn row_key(&self, row: usize, node: &[usize]) -> u128 {
        self.enc
            .qis
            .iter()
            .zip(node)
            .map(|(qi, &level)| u128::from(qi.up[level][qi.row_codes[row] as usize]) << qi.shift)
            .fold(0, |a, b| a | b)
    }

    fn generalized_table(&self, table: &Table, node: &[usize], rows: &[usize]) -> Result<Table> {
        let by_name: HashMap<&str, (usize, usize)> = self
            .enc
            .qis
            .iter()
            .enumerate()
            .map(|(i, q)| (q.name.as_str(), (i, node[i])))
            .collect();
        let columns = table
            .columns()
            .iter()
            .map(|column| match by_name.get(column.name()) {
                Some(&(_, 0)) | None => column.take(rows),
                Some(&(q, level)) => {
                    let qi = &self.enc.qis[q];
                    let values = rows
                        .iter()
                        .map(|&r| {
                            qi.labels[level][qi.up[level][qi.row_codes[r] as usize] as usize]
                                .clone()
                        })
                        .collect();
                    Column::text(column.name(), values)
                }
            })
            .collect();
        Ok(Table::new(columns)?)
    }

    fn utility(
        &self,
        spec: &AnonymizationSpec,
        node: &[usize],
        evaluation: &Evaluation,
        records_out: usize,
    ) -> Result<UtilityReport> {
        let value_of = |metric: Metric| -> Result<f64> {
            let evaluator = self.evaluator(&metric)?;
            Ok(self.evaluate(&evaluator, node).score.scalar())
        };
        let names: Vec<&str> = self.enc.qis.iter().map(|q| q.name.as_str()).collect();
        Ok(UtilityReport {
            metric: metric_name(&spec.metric),
            value: evaluation.score.scalar(),
            rank: match &evaluation.score {
                Score::Rank(v) => Some(v.clone()),
                Score::Value(_) => None,
            },
            per_attribute: names
                .iter()
                .map(|n| n.to_string())
                .zip(evaluation.per_attribute.iter().copied())
                .collect(),
            loss: value_of(Metric::default())?,
            discernibility: value_of(Metric::Discernibility { monotonic: false })?,
            non_uniform_entropy: value_of(Metric::NonUniformEntropy { monotonic: false })?,
            average_class_size: value_of(Metric::Aecs)?,
            records_in: self.enc.released_rows,
            records_out,
        })
    }
}

fn metric_name(metric: &Metric) -> String {
    match metric {
        Metric::Loss {
            aggregate: Aggregate::Rank,
            ..
        } => "loss (rank)".into(),
        Metric::Loss { .. } => "loss".into(),
        Metric::NonUniformEntropy { monotonic: true } => "non_uniform_entropy (monotonic)".into(),
        Metric::NonUniformEntropy { .. } => "non_uniform_entropy".into(),
        Metric::Discernibility { monotonic: true } => "discernibility (monotonic)".into(),
        Metric::Discernibility { .. } => "discernibility".into(),
        Metric::Aecs => "average_class_size".into(),
    }
}

/// ARX's attribute weights: default 0.5 each, normalized by the largest (all 1 when
/// every weight is 0).
fn weights(enc: &Encoded, metric: &Metric) -> Vec<f64> {
    let given = match metric {
        Metric::Loss { weights, .. } => Some(weights),
        _ => None,
    };
    let raw: Vec<f64> = enc
        .qis
        .iter()
        .map(|q| given.and_then(|w| w.get(&q.name)).copied().unwrap_or(0.5))
        .collect();
    let max = raw.iter().copied().fold(0.0, f64::max);
    if max == 0.0 {
        vec![1.0; raw.len()]
    } else {
        raw.iter().map(|w| w / max).collect()
    }
}

fn validate(spec: &AnonymizationSpec) -> Result<()> {
    if spec.quasi_identifiers.is_empty() {
        return Err(AnonError::Config(
            "name at least one quasi-identifier".into(),
        ));
    }
    if !(0.0..=1.0).contains(&spec.suppression_limit) {
        return Err(AnonError::Config(
            "suppression_limit must be between 0 and 1".into(),
        ));
    }
    for model in &spec.models {
        let bad = match model {
            PrivacyModel::KAnonymity { k } => *k == 0,
            PrivacyModel::DistinctLDiversity { l, .. }
            | PrivacyModel::RecursiveClDiversity { l, .. } => *l == 0,
            PrivacyModel::EntropyLDiversity { l, .. } => l.is_nan() || *l < 1.0,
            PrivacyModel::EqualDistanceTCloseness { t, .. }
            | PrivacyModel::HierarchicalTCloseness { t, .. } => !(0.0..=1.0).contains(t),
            PrivacyModel::DeltaPresence {
                delta_min,
                delta_max,
            } => {
                spec.research_subset.is_none()
                    || !((0.0..=1.0).contains(delta_min)
                        && (0.0..=1.0).contains(delta_max)
                        && delta_min <= delta_max)
            }
            PrivacyModel::AverageRisk { max } => !(0.0..=1.0).contains(max),
            PrivacyModel::PopulationUniqueness { max, population } => {
                !(0.0..=1.0).contains(max) || population.is_nan() || *population <= 0.0
            }
        };
        if bad {
            return Err(AnonError::Config(format!(
                "invalid parameters for {model:?} (k, l >= 1; t, delta and risk bounds in [0, 1]; delta-presence needs a research subset)"
            )));
        }
    }
    Ok(())
}

/// The EMD tree of a sensitive attribute: values at level 0, hierarchy labels above.
fn emd_tree(name: &str, values: &[Option<String>], hierarchy: &Hierarchy) -> Result<EmdTree> {
    let levels = hierarchy.levels();
    let mut codes: Vec<Vec<u32>> = Vec::with_capacity(levels);
    let mut width = Vec::with_capacity(levels);
    codes.push((0..values.len() as u32).collect());
    width.push(values.len());
    for level in 1..levels {
        let mut ids: HashMap<String, u32> = HashMap::new();
        let level_codes: Vec<u32> = values
            .iter()
            .map(|v| {
                let label = v
                    .as_deref()
                    .and_then(|v| hierarchy.generalize(v, level))
                    .ok_or_else(|| AnonError::Hierarchy {
                        column: name.to_string(),
                        message: "a value of the sensitive attribute is missing from its hierarchy"
                            .into(),
                    })?;
                let next = ids.len() as u32;
                Ok(*ids.entry(label.to_string()).or_insert(next))
            })
            .collect::<Result<_>>()?;
        width.push(ids.len());
        codes.push(level_codes);
    }
    // parent[l][node at l] = node at l + 1; nodes at level l are identified by the code of
    // any value below them.
    let mut parent = Vec::with_capacity(levels.saturating_sub(1));
    for level in 0..levels.saturating_sub(1) {
        let mut p = vec![0u32; width[level]];
        for v in 0..values.len() {
            p[codes[level][v] as usize] = codes[level + 1][v];
        }
        parent.push(p);
    }
    Ok(EmdTree { parent, width })
}
