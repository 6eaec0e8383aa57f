-- 000008 up: add the CHECK constraints on providers, roles, threat ratings, diagram types and token expiry.

ALTER TABLE user_providers
    ADD CONSTRAINT user_providers_provider_check
        CHECK (provider IN ('google', 'github', 'microsoft', 'apple', 'facebook', 'twitter'));

ALTER TABLE user_providers
    ADD CONSTRAINT user_providers_provider_user_id_check
        CHECK (provider_user_id <> '');

ALTER TABLE threat_model_access
    ADD CONSTRAINT threat_model_access_role_check
        CHECK (role IN ('owner', 'writer', 'reader'));

ALTER TABLE threats
    ADD CONSTRAINT threats_severity_check
        CHECK (severity IS NULL OR severity IN ('low', 'medium', 'high', 'critical'));

ALTER TABLE threats
    ADD CONSTRAINT threats_likelihood_check
        CHECK (likelihood IS NULL OR likelihood IN ('low', 'medium', 'high'));

ALTER TABLE threats
    ADD CONSTRAINT threats_risk_level_check
        CHECK (risk_level IS NULL OR risk_level IN ('low', 'medium', 'high', 'critical'));

ALTER TABLE diagrams
    ADD CONSTRAINT diagrams_type_check
        CHECK (type IS NULL OR type IN ('data_flow', 'architecture', 'sequence', 'component', 'deployment'));

ALTER TABLE refresh_tokens
    ADD CONSTRAINT refresh_tokens_expires_at_check
        CHECK (expires_at > created_at);
