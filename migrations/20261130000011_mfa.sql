-- TOTP two-factor authentication. The secret is stored encrypted (ChaCha20-Poly1305 with
-- DATA_ENCRYPTION_KEY, the user id as associated data); it is pending until confirmed with a
-- first code. `last_used_step` makes every code single use. Recovery codes and MFA login
-- challenges are stored as SHA-256 hashes only.

CREATE TABLE mfa_totp (
    user_id           uuid PRIMARY KEY REFERENCES users (id),
    secret_ciphertext bytea NOT NULL,
    confirmed_at      timestamptz,
    last_used_step    bigint,
    created_at        timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE mfa_recovery_codes (
    code_hash  bytea PRIMARY KEY,
    user_id    uuid NOT NULL REFERENCES users (id),
    used_at    timestamptz,
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX mfa_recovery_codes_by_user ON mfa_recovery_codes (user_id);

-- Issued when a correct password meets an account with TOTP on; exchanged once for tokens.
CREATE TABLE mfa_challenges (
    token_hash bytea PRIMARY KEY,
    user_id    uuid NOT NULL REFERENCES users (id),
    expires_at timestamptz NOT NULL,
    used_at    timestamptz,
    created_at timestamptz NOT NULL DEFAULT now()
);
