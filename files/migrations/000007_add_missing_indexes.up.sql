-- 000007 up: add the remaining indexes, including at most one primary provider per user.

CREATE INDEX idx_users_last_login ON users (last_login);
CREATE INDEX idx_user_providers_email ON user_providers (email);
CREATE UNIQUE INDEX idx_user_providers_one_primary ON user_providers (user_id) WHERE is_primary;
CREATE INDEX idx_threat_model_access_user_email ON threat_model_access (user_email);
CREATE INDEX idx_threat_model_access_role ON threat_model_access (role);
CREATE INDEX idx_threats_threat_model_id_created_at ON threats (threat_model_id, created_at);
CREATE INDEX idx_threats_severity ON threats (severity);
CREATE INDEX idx_threats_risk_level ON threats (risk_level);
CREATE INDEX idx_diagrams_threat_model_id_type ON diagrams (threat_model_id, type);
CREATE INDEX idx_diagrams_type ON diagrams (type);
CREATE INDEX idx_refresh_tokens_user_id ON refresh_tokens (user_id);
