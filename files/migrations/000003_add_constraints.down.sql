-- 000003 down: drop the foreign keys between the initial tables.

ALTER TABLE diagrams DROP CONSTRAINT diagrams_threat_model_id_fkey;
ALTER TABLE threats DROP CONSTRAINT threats_threat_model_id_fkey;
ALTER TABLE threat_model_access DROP CONSTRAINT threat_model_access_user_email_fkey;
ALTER TABLE threat_model_access DROP CONSTRAINT threat_model_access_threat_model_id_fkey;
ALTER TABLE threat_models DROP CONSTRAINT threat_models_owner_email_fkey;
