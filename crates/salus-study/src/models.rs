//! Multi-round and model-based analyses (survival, regression, synthesis) on the hub
//! side. Filled in as the statistics crate lands.

use serde::{Deserialize, Serialize};

use salus_core::schema::DatasetSchema;
use salus_core::study::StudySpec;

use crate::layout::Layout;
use crate::plan::{Progress, Released};
use crate::{Step, StudyError};

/// Hub-side state of a model analysis.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub enum ModelState {}

impl ModelState {
    pub(crate) fn new(spec: &StudySpec, _schema: &DatasetSchema) -> Result<Option<Self>, StudyError> {
        match spec.analysis.kind() {
            "descriptive" | "histogram" | "contingency" => Ok(None),
            other => Err(StudyError::Analysis(format!("analysis `{other}` is not available in this build"))),
        }
    }

    pub(crate) fn next_request(&self, _spec: &StudySpec, _schema: &DatasetSchema) -> Option<(Step, Layout)> {
        match *self {}
    }

    pub(crate) fn absorb(&mut self, _sum: &[f64]) -> Result<Progress, StudyError> {
        match *self {}
    }

    pub(crate) fn release(
        &self,
        _spec: &StudySpec,
        _schema: &DatasetSchema,
        _min: u64,
        _out: &mut Released,
    ) -> Result<(), StudyError> {
        match *self {}
    }
}

pub(crate) fn parameter_count(spec: &StudySpec, schema: &DatasetSchema) -> usize {
    use salus_core::schema::ColumnType;
    let expand = |covs: &[String]| -> usize {
        covs.iter()
            .map(|c| match schema.columns.get(c) {
                Some(col) if col.column_type == ColumnType::Categorical => col.levels.len().saturating_sub(1),
                _ => 1,
            })
            .sum()
    };
    match &spec.analysis {
        salus_core::study::AnalysisSpec::Cox { covariates, .. } => expand(covariates),
        salus_core::study::AnalysisSpec::Logistic { covariates, .. }
        | salus_core::study::AnalysisSpec::Linear { covariates, .. } => expand(covariates) + 1,
        _ => 0,
    }
}
