-- Hub state. Times are Unix milliseconds. No table holds patient data.
CREATE TABLE invites (
    token_hash   TEXT PRIMARY KEY,
    organisation TEXT NOT NULL,
    created_at   BIGINT NOT NULL,
    expires_at   BIGINT NOT NULL,
    used_at      BIGINT,
    node_id      TEXT
);

CREATE TABLE nodes (
    node_id          TEXT PRIMARY KEY,
    name             TEXT NOT NULL UNIQUE,
    organisation     TEXT NOT NULL,
    cert_fingerprint TEXT NOT NULL UNIQUE,
    identity_key     TEXT NOT NULL,
    status           TEXT NOT NULL,
    enrolled_at      BIGINT NOT NULL,
    revoked_at       BIGINT,
    last_seen        BIGINT,
    cosigned_size    BIGINT NOT NULL DEFAULT 0
);

CREATE TABLE api_tokens (
    token_hash   TEXT PRIMARY KEY,
    name         TEXT NOT NULL,
    organisation TEXT NOT NULL,
    scope        TEXT NOT NULL,
    created_at   BIGINT NOT NULL,
    expires_at   BIGINT NOT NULL,
    revoked_at   BIGINT
);

CREATE TABLE datasets (
    name           TEXT NOT NULL,
    node_id        TEXT NOT NULL,
    schema_json    TEXT NOT NULL,
    min_cell_count BIGINT NOT NULL,
    updated_at     BIGINT NOT NULL,
    PRIMARY KEY (name, node_id)
);

CREATE TABLE studies (
    id             TEXT PRIMARY KEY,
    researcher     TEXT NOT NULL,
    organisation   TEXT NOT NULL,
    spec_json      TEXT NOT NULL,
    status         TEXT NOT NULL,
    error          TEXT,
    plan_json      TEXT NOT NULL,
    round          BIGINT NOT NULL,
    attempt        BIGINT NOT NULL,
    result_json    TEXT,
    privacy_json   TEXT,
    researcher_key TEXT,
    submitted_at   BIGINT NOT NULL,
    finished_at    BIGINT
);

CREATE TABLE study_nodes (
    study_id       TEXT NOT NULL,
    node_id        TEXT NOT NULL,
    state          TEXT NOT NULL,
    reason         TEXT,
    min_cell_count BIGINT,
    remaining_rho  DOUBLE PRECISION,
    PRIMARY KEY (study_id, node_id)
);

CREATE TABLE audit_entries (
    idx        BIGINT PRIMARY KEY,
    entry      TEXT NOT NULL,
    leaf_hash  TEXT NOT NULL,
    created_at BIGINT NOT NULL
);

CREATE TABLE audit_checkpoints (
    tree_size  BIGINT PRIMARY KEY,
    note       TEXT NOT NULL,
    created_at BIGINT NOT NULL
);

CREATE TABLE audit_cosignatures (
    tree_size BIGINT NOT NULL,
    node_id   TEXT NOT NULL,
    signature TEXT NOT NULL,
    PRIMARY KEY (tree_size, node_id)
);

-- The audit log's public key (`origin+id+base64`), so a stopped hub's database can
-- be exported and checked without the hub's key files.
CREATE TABLE audit_meta (
    id         BIGINT PRIMARY KEY CHECK (id = 1),
    origin     TEXT NOT NULL,
    log_key    TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
