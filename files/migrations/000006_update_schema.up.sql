-- 000006 up: add last-login times, threat mitigations and diagram metadata.

ALTER TABLE users ADD COLUMN last_login timestamp with time zone;
ALTER TABLE user_providers ADD COLUMN last_login timestamp with time zone;
ALTER TABLE threats ADD COLUMN mitigation text;
ALTER TABLE diagrams ADD COLUMN metadata jsonb;
