-- 000008 down: drop the CHECK constraints that 000008 added.

ALTER TABLE refresh_tokens DROP CONSTRAINT refresh_tokens_expires_at_check;
ALTER TABLE diagrams DROP CONSTRAINT diagrams_type_check;
ALTER TABLE threats DROP CONSTRAINT threats_risk_level_check;
ALTER TABLE threats DROP CONSTRAINT threats_likelihood_check;
ALTER TABLE threats DROP CONSTRAINT threats_severity_check;
ALTER TABLE threat_model_access DROP CONSTRAINT threat_model_access_role_check;
ALTER TABLE user_providers DROP CONSTRAINT user_providers_provider_user_id_check;
ALTER TABLE user_providers DROP CONSTRAINT user_providers_provider_check;
