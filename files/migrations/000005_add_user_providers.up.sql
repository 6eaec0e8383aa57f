-- 000005 up: create user_providers (one row per OAuth provider of a user) with its key, unique pair and indexes.

CREATE TABLE user_providers (
    id               uuid                     NOT NULL DEFAULT gen_random_uuid(),
    user_id          uuid                     NOT NULL,
    provider         varchar(50)              NOT NULL,
    provider_user_id varchar(255)             NOT NULL,
    email            varchar(320)             NOT NULL,
    is_primary       boolean                  NOT NULL DEFAULT false,
    created_at       timestamp with time zone NOT NULL DEFAULT now(),
    modified_at      timestamp with time zone NOT NULL DEFAULT now(),
    CONSTRAINT user_providers_pkey PRIMARY KEY (id),
    CONSTRAINT user_providers_user_id_provider_key UNIQUE (user_id, provider),
    CONSTRAINT user_providers_user_id_fkey FOREIGN KEY (user_id)
        REFERENCES users (id) ON DELETE CASCADE
);

CREATE INDEX idx_user_providers_user_id ON user_providers (user_id);
CREATE INDEX idx_user_providers_provider_lookup ON user_providers (provider, provider_user_id);
