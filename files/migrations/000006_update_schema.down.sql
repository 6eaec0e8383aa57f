-- 000006 down: drop the columns that 000006 added.

ALTER TABLE diagrams DROP COLUMN metadata;
ALTER TABLE threats DROP COLUMN mitigation;
ALTER TABLE user_providers DROP COLUMN last_login;
ALTER TABLE users DROP COLUMN last_login;
