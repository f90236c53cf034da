-- Consent changes carry their record id (unique), the receipt hash the hub's audit
-- log records, and whether the hub has acknowledged that hash.
ALTER TABLE consent_records ADD COLUMN record_id TEXT;
ALTER TABLE consent_records ADD COLUMN receipt_hash TEXT;
ALTER TABLE consent_records ADD COLUMN reported BIGINT NOT NULL DEFAULT 0;
CREATE UNIQUE INDEX consent_records_record_id ON consent_records (record_id);
CREATE INDEX consent_records_unreported ON consent_records (reported);
