-- 000001 up: create users, threat_models, threat_model_access, threats and diagrams (keys and unique constraints, no foreign keys yet).

-- gen_random_uuid() is core from PostgreSQL 13; before that it comes from pgcrypto.
-- The comment marks the extension as ours, so that the down migration drops it
-- only when this migration created it.
DO $$
BEGIN
    IF current_setting('server_version_num')::integer < 130000
       AND NOT EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'pgcrypto') THEN
        CREATE EXTENSION pgcrypto;
        COMMENT ON EXTENSION pgcrypto IS 'created by TMI migration 000001_initial_schema';
    END IF;
END
$$;

CREATE TABLE users (
    id          uuid                     NOT NULL DEFAULT gen_random_uuid(),
    email       varchar(320)             NOT NULL,
    name        varchar(255)             NOT NULL,
    created_at  timestamp with time zone NOT NULL DEFAULT now(),
    modified_at timestamp with time zone NOT NULL DEFAULT now(),
    CONSTRAINT users_pkey PRIMARY KEY (id),
    CONSTRAINT users_email_key UNIQUE (email)
);

CREATE TABLE threat_models (
    id          uuid                     NOT NULL DEFAULT gen_random_uuid(),
    owner_email varchar(320)             NOT NULL,
    name        varchar(255)             NOT NULL,
    description text,
    created_at  timestamp with time zone NOT NULL DEFAULT now(),
    modified_at timestamp with time zone NOT NULL DEFAULT now(),
    CONSTRAINT threat_models_pkey PRIMARY KEY (id)
);

CREATE TABLE threat_model_access (
    id              uuid                     NOT NULL DEFAULT gen_random_uuid(),
    threat_model_id uuid                     NOT NULL,
    user_email      varchar(320)             NOT NULL,
    role            varchar(50)              NOT NULL,
    created_at      timestamp with time zone NOT NULL DEFAULT now(),
    modified_at     timestamp with time zone NOT NULL DEFAULT now(),
    CONSTRAINT threat_model_access_pkey PRIMARY KEY (id),
    CONSTRAINT threat_model_access_threat_model_id_user_email_key UNIQUE (threat_model_id, user_email)
);

CREATE TABLE threats (
    id              uuid                     NOT NULL DEFAULT gen_random_uuid(),
    threat_model_id uuid                     NOT NULL,
    name            varchar(255)             NOT NULL,
    description     text,
    severity        varchar(20),
    likelihood      varchar(20),
    risk_level      varchar(20),
    created_at      timestamp with time zone NOT NULL DEFAULT now(),
    modified_at     timestamp with time zone NOT NULL DEFAULT now(),
    CONSTRAINT threats_pkey PRIMARY KEY (id)
);

CREATE TABLE diagrams (
    id              uuid                     NOT NULL DEFAULT gen_random_uuid(),
    threat_model_id uuid                     NOT NULL,
    name            varchar(255)             NOT NULL,
    type            varchar(50),
    content         text,
    created_at      timestamp with time zone NOT NULL DEFAULT now(),
    modified_at     timestamp with time zone NOT NULL DEFAULT now(),
    CONSTRAINT diagrams_pkey PRIMARY KEY (id)
);
