-- Password recovery and email verification (issue 10, part A).
--
-- A one-time token is never stored: only the SHA-256 of it. The token itself is
-- HMAC-SHA256(server key, purpose, id) of the row's id, recomputed by the mail sender from the
-- event that names the id, so it never travels through RabbitMQ, the outbox or a log line.

ALTER TABLE users ADD COLUMN email_verified boolean NOT NULL DEFAULT false;

CREATE TABLE one_time_tokens (
    id            uuid PRIMARY KEY,
    purpose       text NOT NULL CHECK (purpose IN ('password_reset', 'email_verification')),
    user_id       uuid NOT NULL REFERENCES users (id),
    token_hash    bytea NOT NULL UNIQUE,
    created_at    timestamptz NOT NULL DEFAULT now(),
    expires_at    timestamptz NOT NULL,
    used_at       timestamptz,
    -- Set when a newer token of the same purpose was issued to the same user.
    superseded_at timestamptz
);
CREATE INDEX one_time_tokens_live ON one_time_tokens (user_id, purpose)
    WHERE used_at IS NULL AND superseded_at IS NULL;
