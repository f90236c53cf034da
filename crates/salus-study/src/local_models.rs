//! Node-side contributions of model analyses (survival, regression, synthesis).

use salus_core::schema::DatasetSchema;
use salus_core::study::{AnalysisSpec, StudySpec};

use crate::local::Cohort;
use crate::{RoundRequest, StudyError};

pub(crate) fn contribute(
    _spec: &StudySpec,
    _schema: &DatasetSchema,
    analysis: &AnalysisSpec,
    _round: &RoundRequest,
    _cohort: &Cohort<'_>,
    _out: &mut Vec<f64>,
) -> Result<(), StudyError> {
    Err(StudyError::Analysis(format!(
        "analysis `{}` is not available in this build",
        analysis.kind()
    )))
}
