//! The OMOP CDM v5.3/5.4 tables this crate reads, as typed rows.
//!
//! Only the columns an analysis uses are kept. Required columns follow the CDM
//! specification's "required" flag (identical in 5.3 and 5.4 for these columns);
//! columns renamed in 5.4 are not read, so both versions load.

use crate::csvread::{Col, Kind::*, Row, opt, req};
use crate::date::Date;

/// PERSON.
#[derive(Debug, Clone, PartialEq)]
pub struct Person {
    /// Primary key.
    pub person_id: i64,
    /// 8507 male, 8532 female, 0 unknown.
    pub gender_concept_id: i64,
    /// Year of birth.
    pub year_of_birth: i32,
    /// Month of birth (1-12), if known.
    pub month_of_birth: Option<u32>,
    /// Day of birth (1-31), if known.
    pub day_of_birth: Option<u32>,
    /// The date part of BIRTH_DATETIME, if given.
    pub birth_datetime: Option<Date>,
    /// Race concept.
    pub race_concept_id: i64,
    /// Ethnicity concept.
    pub ethnicity_concept_id: i64,
    /// PERSON_SOURCE_VALUE (often a source identifier: never put in analysis tables).
    pub person_source_value: Option<String>,
}

pub(crate) const PERSON: &[Col] = &[
    req("person_id", Int),
    req("gender_concept_id", Int),
    req("year_of_birth", Int),
    opt("month_of_birth", Int),
    opt("day_of_birth", Int),
    opt("birth_datetime", Date),
    req("race_concept_id", Int),
    req("ethnicity_concept_id", Int),
    opt("person_source_value", Text),
];

impl Person {
    pub(crate) fn from_row(r: &Row<'_>) -> Option<Self> {
        Some(Person {
            person_id: r.int("person_id")?,
            gender_concept_id: r.int("gender_concept_id")?,
            year_of_birth: i32::try_from(r.int("year_of_birth")?).ok()?,
            month_of_birth: r
                .int("month_of_birth")
                .and_then(|m| u32::try_from(m).ok())
                .filter(|m| (1..=12).contains(m)),
            day_of_birth: r
                .int("day_of_birth")
                .and_then(|d| u32::try_from(d).ok())
                .filter(|d| (1..=31).contains(d)),
            birth_datetime: r.date("birth_datetime"),
            race_concept_id: r.concept("race_concept_id"),
            ethnicity_concept_id: r.concept("ethnicity_concept_id"),
            person_source_value: r.text("person_source_value"),
        })
    }

    /// The birth date as precisely as known: BIRTH_DATETIME, else year-month-day.
    pub fn birth_date(&self) -> Option<Date> {
        self.birth_datetime.or_else(|| {
            Date::from_ymd(self.year_of_birth, self.month_of_birth?, self.day_of_birth?)
        })
    }

    /// The birth date as FHIR-style text at its real precision (`1963-12-31`,
    /// `1963-12` or `1963`).
    pub fn birth_date_text(&self) -> String {
        match (self.birth_date(), self.month_of_birth) {
            (Some(d), _) => d.to_string(),
            (None, Some(m)) => format!("{:04}-{m:02}", self.year_of_birth),
            (None, None) => format!("{:04}", self.year_of_birth),
        }
    }

    /// Age in whole years on `day`: exact when the birth date is known, else the
    /// difference of calendar years.
    pub fn age_on(&self, day: Date) -> i32 {
        match self.birth_date() {
            Some(birth) => day.years_since(birth),
            None => day.year() - self.year_of_birth,
        }
    }
}

/// OBSERVATION_PERIOD.
#[derive(Debug, Clone, PartialEq)]
pub struct ObservationPeriod {
    /// Primary key.
    pub observation_period_id: i64,
    /// The person.
    pub person_id: i64,
    /// First day of observation.
    pub start: Date,
    /// Last day of observation.
    pub end: Date,
}

pub(crate) const OBSERVATION_PERIOD: &[Col] = &[
    req("observation_period_id", Int),
    req("person_id", Int),
    req("observation_period_start_date", Date),
    req("observation_period_end_date", Date),
    req("period_type_concept_id", Int),
];

impl ObservationPeriod {
    pub(crate) fn from_row(r: &Row<'_>) -> Option<Self> {
        Some(ObservationPeriod {
            observation_period_id: r.int("observation_period_id")?,
            person_id: r.int("person_id")?,
            start: r.date("observation_period_start_date")?,
            end: r.date("observation_period_end_date")?,
        })
    }
}

/// A clinical event row shared by the event tables: who, what, when.
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    /// Primary key of the row in its table.
    pub id: i64,
    /// The person.
    pub person_id: i64,
    /// The standard concept (0 when unmapped).
    pub concept_id: i64,
    /// Start (or only) date.
    pub start: Date,
    /// End date, if the table has one and it is filled.
    pub end: Option<Date>,
    /// The visit it happened in.
    pub visit_occurrence_id: Option<i64>,
    /// The source code as written by the source system.
    pub source_value: Option<String>,
    /// The source concept (e.g. an ICD10CM concept).
    pub source_concept_id: Option<i64>,
}

/// Column names of one event table.
pub(crate) struct EventColumns {
    pub id: &'static str,
    pub concept: &'static str,
    pub start: &'static str,
    pub end: Option<&'static str>,
    pub source_value: &'static str,
    pub source_concept: &'static str,
}

impl Event {
    pub(crate) fn from_row(r: &Row<'_>, c: &EventColumns) -> Option<Self> {
        Some(Event {
            id: r.int(c.id)?,
            person_id: r.int("person_id")?,
            concept_id: r.concept(c.concept),
            start: r.date(c.start)?,
            end: c.end.and_then(|e| r.date(e)),
            visit_occurrence_id: r.int("visit_occurrence_id"),
            source_value: r.text(c.source_value),
            source_concept_id: r.int(c.source_concept),
        })
    }
}

pub(crate) const VISIT_COLUMNS: EventColumns = EventColumns {
    id: "visit_occurrence_id",
    concept: "visit_concept_id",
    start: "visit_start_date",
    end: Some("visit_end_date"),
    source_value: "visit_source_value",
    source_concept: "visit_source_concept_id",
};

pub(crate) const VISIT_OCCURRENCE: &[Col] = &[
    req("visit_occurrence_id", Int),
    req("person_id", Int),
    req("visit_concept_id", Int),
    req("visit_start_date", Date),
    req("visit_end_date", Date),
    req("visit_type_concept_id", Int),
    opt("visit_source_value", Text),
    opt("visit_source_concept_id", Int),
];

pub(crate) const CONDITION_COLUMNS: EventColumns = EventColumns {
    id: "condition_occurrence_id",
    concept: "condition_concept_id",
    start: "condition_start_date",
    end: Some("condition_end_date"),
    source_value: "condition_source_value",
    source_concept: "condition_source_concept_id",
};

pub(crate) const CONDITION_OCCURRENCE: &[Col] = &[
    req("condition_occurrence_id", Int),
    req("person_id", Int),
    req("condition_concept_id", Int),
    req("condition_start_date", Date),
    opt("condition_end_date", Date),
    req("condition_type_concept_id", Int),
    opt("visit_occurrence_id", Int),
    opt("condition_source_value", Text),
    opt("condition_source_concept_id", Int),
];

pub(crate) const PROCEDURE_COLUMNS: EventColumns = EventColumns {
    id: "procedure_occurrence_id",
    concept: "procedure_concept_id",
    start: "procedure_date",
    end: Some("procedure_end_date"),
    source_value: "procedure_source_value",
    source_concept: "procedure_source_concept_id",
};

pub(crate) const PROCEDURE_OCCURRENCE: &[Col] = &[
    req("procedure_occurrence_id", Int),
    req("person_id", Int),
    req("procedure_concept_id", Int),
    req("procedure_date", Date),
    opt("procedure_end_date", Date),
    req("procedure_type_concept_id", Int),
    opt("visit_occurrence_id", Int),
    opt("procedure_source_value", Text),
    opt("procedure_source_concept_id", Int),
];

/// DRUG_EXPOSURE.
#[derive(Debug, Clone, PartialEq)]
pub struct DrugExposure {
    /// Who, what, when (end = DRUG_EXPOSURE_END_DATE).
    pub event: Event,
    /// Quantity dispensed or administered.
    pub quantity: Option<f64>,
    /// Days of supply.
    pub days_supply: Option<i64>,
}

pub(crate) const DRUG_COLUMNS: EventColumns = EventColumns {
    id: "drug_exposure_id",
    concept: "drug_concept_id",
    start: "drug_exposure_start_date",
    end: Some("drug_exposure_end_date"),
    source_value: "drug_source_value",
    source_concept: "drug_source_concept_id",
};

pub(crate) const DRUG_EXPOSURE: &[Col] = &[
    req("drug_exposure_id", Int),
    req("person_id", Int),
    req("drug_concept_id", Int),
    req("drug_exposure_start_date", Date),
    req("drug_exposure_end_date", Date),
    req("drug_type_concept_id", Int),
    opt("quantity", Float),
    opt("days_supply", Int),
    opt("visit_occurrence_id", Int),
    opt("drug_source_value", Text),
    opt("drug_source_concept_id", Int),
];

impl DrugExposure {
    pub(crate) fn from_row(r: &Row<'_>) -> Option<Self> {
        Some(DrugExposure {
            event: Event::from_row(r, &DRUG_COLUMNS)?,
            quantity: r.float("quantity"),
            days_supply: r.int("days_supply"),
        })
    }
}

/// MEASUREMENT and OBSERVATION (same shape for analysis).
#[derive(Debug, Clone, PartialEq)]
pub struct Measurement {
    /// Who, what, when.
    pub event: Event,
    /// VALUE_AS_NUMBER.
    pub value_as_number: Option<f64>,
    /// VALUE_AS_STRING (observation only).
    pub value_as_string: Option<String>,
    /// VALUE_AS_CONCEPT_ID.
    pub value_as_concept_id: Option<i64>,
    /// UNIT_CONCEPT_ID.
    pub unit_concept_id: Option<i64>,
    /// UNIT_SOURCE_VALUE.
    pub unit_source_value: Option<String>,
    /// RANGE_LOW (measurement only).
    pub range_low: Option<f64>,
    /// RANGE_HIGH (measurement only).
    pub range_high: Option<f64>,
}

pub(crate) const MEASUREMENT_COLUMNS: EventColumns = EventColumns {
    id: "measurement_id",
    concept: "measurement_concept_id",
    start: "measurement_date",
    end: None,
    source_value: "measurement_source_value",
    source_concept: "measurement_source_concept_id",
};

pub(crate) const MEASUREMENT: &[Col] = &[
    req("measurement_id", Int),
    req("person_id", Int),
    req("measurement_concept_id", Int),
    req("measurement_date", Date),
    req("measurement_type_concept_id", Int),
    opt("value_as_number", Float),
    opt("value_as_concept_id", Int),
    opt("unit_concept_id", Int),
    opt("range_low", Float),
    opt("range_high", Float),
    opt("visit_occurrence_id", Int),
    opt("measurement_source_value", Text),
    opt("measurement_source_concept_id", Int),
    opt("unit_source_value", Text),
];

pub(crate) const OBSERVATION_COLUMNS: EventColumns = EventColumns {
    id: "observation_id",
    concept: "observation_concept_id",
    start: "observation_date",
    end: None,
    source_value: "observation_source_value",
    source_concept: "observation_source_concept_id",
};

pub(crate) const OBSERVATION: &[Col] = &[
    req("observation_id", Int),
    req("person_id", Int),
    req("observation_concept_id", Int),
    req("observation_date", Date),
    req("observation_type_concept_id", Int),
    opt("value_as_number", Float),
    opt("value_as_string", Text),
    opt("value_as_concept_id", Int),
    opt("unit_concept_id", Int),
    opt("visit_occurrence_id", Int),
    opt("observation_source_value", Text),
    opt("observation_source_concept_id", Int),
    opt("unit_source_value", Text),
];

impl Measurement {
    pub(crate) fn from_row(r: &Row<'_>, c: &EventColumns) -> Option<Self> {
        Some(Measurement {
            event: Event::from_row(r, c)?,
            value_as_number: r.float("value_as_number"),
            value_as_string: r.text("value_as_string"),
            value_as_concept_id: r.int("value_as_concept_id").filter(|&c| c != 0),
            unit_concept_id: r.int("unit_concept_id").filter(|&c| c != 0),
            unit_source_value: r.text("unit_source_value"),
            range_low: r.float("range_low"),
            range_high: r.float("range_high"),
        })
    }
}

/// DEATH.
#[derive(Debug, Clone, PartialEq)]
pub struct Death {
    /// The person.
    pub person_id: i64,
    /// Date of death.
    pub date: Date,
    /// Cause of death, if recorded.
    pub cause_concept_id: Option<i64>,
}

pub(crate) const DEATH: &[Col] = &[
    req("person_id", Int),
    req("death_date", Date),
    opt("cause_concept_id", Int),
];

impl Death {
    pub(crate) fn from_row(r: &Row<'_>) -> Option<Self> {
        Some(Death {
            person_id: r.int("person_id")?,
            date: r.date("death_date")?,
            cause_concept_id: r.int("cause_concept_id").filter(|&c| c != 0),
        })
    }
}
