-- Sessions a user can see and end: where and with what they were opened, when last used.
-- And revocation notices: every API replica LISTENs on `auth_revocations` and drops the
-- revoked session (or every cached session of a user whose access changed) from its cache the
-- moment the revoking transaction commits, whichever process (API replica or worker) revoked it.

ALTER TABLE auth_sessions
    ADD COLUMN user_agent   text,
    ADD COLUMN ip           text,
    ADD COLUMN last_used_at timestamptz NOT NULL DEFAULT now();

CREATE FUNCTION auth_notify_session_revoked() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('auth_revocations', 'session:' || NEW.id::text);
    RETURN NULL;
END $$;

CREATE TRIGGER auth_sessions_revoked
    AFTER UPDATE OF revoked_at ON auth_sessions
    FOR EACH ROW WHEN (OLD.revoked_at IS NULL AND NEW.revoked_at IS NOT NULL)
    EXECUTE FUNCTION auth_notify_session_revoked();

CREATE FUNCTION auth_notify_user_access_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('auth_revocations', 'user:' || NEW.id::text);
    RETURN NULL;
END $$;

-- Deactivation and role changes alter what every session of the user may do.
CREATE TRIGGER users_access_changed
    AFTER UPDATE OF is_active, role ON users
    FOR EACH ROW WHEN (OLD.is_active IS DISTINCT FROM NEW.is_active OR OLD.role IS DISTINCT FROM NEW.role)
    EXECUTE FUNCTION auth_notify_user_access_changed();
