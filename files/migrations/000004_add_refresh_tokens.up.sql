-- 000004 up: create refresh_tokens with its foreign key to users and its unique token.

CREATE TABLE refresh_tokens (
    id          uuid                     NOT NULL DEFAULT gen_random_uuid(),
    user_id     uuid                     NOT NULL,
    token       varchar(512)             NOT NULL,
    expires_at  timestamp with time zone NOT NULL,
    created_at  timestamp with time zone NOT NULL DEFAULT now(),
    modified_at timestamp with time zone NOT NULL DEFAULT now(),
    CONSTRAINT refresh_tokens_pkey PRIMARY KEY (id),
    CONSTRAINT refresh_tokens_token_key UNIQUE (token),
    CONSTRAINT refresh_tokens_user_id_fkey FOREIGN KEY (user_id)
        REFERENCES users (id) ON DELETE CASCADE
);
