-- 000003 up: add the foreign keys between the initial tables.

-- RESTRICT: deleting a user must never silently delete their threat models.
ALTER TABLE threat_models
    ADD CONSTRAINT threat_models_owner_email_fkey FOREIGN KEY (owner_email)
        REFERENCES users (email) ON DELETE RESTRICT ON UPDATE CASCADE;

ALTER TABLE threat_model_access
    ADD CONSTRAINT threat_model_access_threat_model_id_fkey FOREIGN KEY (threat_model_id)
        REFERENCES threat_models (id) ON DELETE CASCADE;

ALTER TABLE threat_model_access
    ADD CONSTRAINT threat_model_access_user_email_fkey FOREIGN KEY (user_email)
        REFERENCES users (email) ON DELETE CASCADE ON UPDATE CASCADE;

ALTER TABLE threats
    ADD CONSTRAINT threats_threat_model_id_fkey FOREIGN KEY (threat_model_id)
        REFERENCES threat_models (id) ON DELETE CASCADE;

ALTER TABLE diagrams
    ADD CONSTRAINT diagrams_threat_model_id_fkey FOREIGN KEY (threat_model_id)
        REFERENCES threat_models (id) ON DELETE CASCADE;
