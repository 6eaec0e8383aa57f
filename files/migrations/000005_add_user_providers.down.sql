-- 000005 down: drop user_providers (its indexes go with it).

DROP INDEX idx_user_providers_provider_lookup;
DROP INDEX idx_user_providers_user_id;
DROP TABLE user_providers;
