-- Tokens a patient uses on the node's consent API; stored as SHA-256 hashes only, each
-- bound to one pseudonym.
CREATE TABLE patient_tokens (
    token_hash TEXT PRIMARY KEY,
    patient    TEXT NOT NULL,
    expires_at BIGINT NOT NULL,
    created_at BIGINT NOT NULL
);
