-- Node state (SQLite). Patient rows are never copied here: datasets are referenced by
-- path and checksum; cohorts are stored as row bitmaps, consent by pseudonym.
CREATE TABLE datasets (
    name          TEXT PRIMARY KEY,
    path          TEXT NOT NULL,
    schema_json   TEXT NOT NULL,
    sha256        TEXT NOT NULL,
    rows          BIGINT NOT NULL,
    delimiter     TEXT NOT NULL,
    registered_at BIGINT NOT NULL
);

CREATE TABLE policy (
    id          BIGINT PRIMARY KEY CHECK (id = 1),
    policy_json TEXT NOT NULL,
    updated_at  BIGINT NOT NULL
);

CREATE TABLE studies (
    study_id         TEXT PRIMARY KEY,
    spec_json        TEXT NOT NULL,
    researcher       TEXT NOT NULL,
    organisation     TEXT NOT NULL,
    state            TEXT NOT NULL,
    reason           TEXT,
    decision_sent    BIGINT NOT NULL DEFAULT 0,
    cohort           BLOB,
    consent_excluded BIGINT,
    offered_at       BIGINT NOT NULL,
    decided_at       BIGINT
);

CREATE TABLE ledger (
    dataset    TEXT NOT NULL,
    researcher TEXT NOT NULL,
    spent_rho  DOUBLE PRECISION NOT NULL,
    PRIMARY KEY (dataset, researcher)
);

CREATE TABLE ledger_charges (
    study_id   TEXT NOT NULL,
    round      BIGINT NOT NULL,
    dataset    TEXT NOT NULL,
    researcher TEXT NOT NULL,
    rho        DOUBLE PRECISION NOT NULL,
    charged_at BIGINT NOT NULL,
    PRIMARY KEY (study_id, round)
);

CREATE TABLE cohort_history (
    study_id   TEXT PRIMARY KEY,
    dataset    TEXT NOT NULL,
    researcher TEXT NOT NULL,
    cohort     BLOB NOT NULL
);

CREATE TABLE consent_records (
    seq         INTEGER PRIMARY KEY AUTOINCREMENT,
    patient     TEXT NOT NULL,
    record_json TEXT NOT NULL,
    receipt     TEXT,
    created_at  BIGINT NOT NULL
);

CREATE TABLE witness (
    id         BIGINT PRIMARY KEY CHECK (id = 1),
    state_json TEXT NOT NULL
);
