-- 000007 down: drop the indexes that 000007 added.

DROP INDEX idx_refresh_tokens_user_id;
DROP INDEX idx_diagrams_type;
DROP INDEX idx_diagrams_threat_model_id_type;
DROP INDEX idx_threats_risk_level;
DROP INDEX idx_threats_severity;
DROP INDEX idx_threats_threat_model_id_created_at;
DROP INDEX idx_threat_model_access_role;
DROP INDEX idx_threat_model_access_user_email;
DROP INDEX idx_user_providers_one_primary;
DROP INDEX idx_user_providers_email;
DROP INDEX idx_users_last_login;
