-- 000002 down: drop the indexes of the initial tables.

DROP INDEX idx_diagrams_threat_model_id;
DROP INDEX idx_threats_threat_model_id;
DROP INDEX idx_threat_model_access_threat_model_id;
DROP INDEX idx_threat_models_owner_email;
DROP INDEX idx_users_email;
