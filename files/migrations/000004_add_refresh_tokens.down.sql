-- 000004 down: drop refresh_tokens.

DROP TABLE refresh_tokens;
