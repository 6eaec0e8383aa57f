-- 000002 up: index the lookup columns of the initial tables.

CREATE INDEX idx_users_email ON users (email);
CREATE INDEX idx_threat_models_owner_email ON threat_models (owner_email);
CREATE INDEX idx_threat_model_access_threat_model_id ON threat_model_access (threat_model_id);
CREATE INDEX idx_threats_threat_model_id ON threats (threat_model_id);
CREATE INDEX idx_diagrams_threat_model_id ON diagrams (threat_model_id);
