-- 000001 down: drop the five initial tables (and pgcrypto, if migration 000001 created it).

DROP TABLE diagrams;
DROP TABLE threats;
DROP TABLE threat_model_access;
DROP TABLE threat_models;
DROP TABLE users;

DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM pg_extension
               WHERE extname = 'pgcrypto'
                 AND obj_description(oid, 'pg_extension') = 'created by TMI migration 000001_initial_schema') THEN
        DROP EXTENSION pgcrypto;
    END IF;
END
$$;
