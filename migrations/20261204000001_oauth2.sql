-- The OpenID Connect provider (issue 18): registered clients, authorization codes, remembered
-- consent, and OAuth grants as auth sessions (their refresh tokens rotate with the same reuse
-- detection as the REST API's).

CREATE TABLE oauth2_clients (
    id                        uuid PRIMARY KEY,
    name                      text NOT NULL,
    redirect_uris             text[] NOT NULL,
    post_logout_redirect_uris text[] NOT NULL,
    grant_types               text[] NOT NULL,
    token_endpoint_auth_method text NOT NULL
        CHECK (token_endpoint_auth_method IN ('client_secret_basic', 'client_secret_post', 'none')),
    scopes                    text[] NOT NULL,
    first_party               boolean NOT NULL,
    -- SHA-256 of a 256-bit random secret (a slow hash adds nothing against such entropy);
    -- NULL for a public client.
    secret_hash               bytea,
    created_at                timestamptz NOT NULL DEFAULT now(),
    updated_at                timestamptz NOT NULL DEFAULT now(),
    CHECK ((token_endpoint_auth_method = 'none') = (secret_hash IS NULL))
);

-- An OAuth grant is an auth session with a client: its access tokens name it (`sid`), its
-- refresh tokens are rows of refresh_tokens, and revoking it ends both. `browser_session_id` is
-- the sign-in session it was granted from, so that logging out there ends it too. No foreign key
-- to the client: deleting a client revokes its grants and keeps the rows (a NULL client_id would
-- turn a grant into a REST session).
ALTER TABLE auth_sessions
    ADD COLUMN client_id          uuid,
    ADD COLUMN scope              text,
    ADD COLUMN browser_session_id uuid REFERENCES auth_sessions (id);
CREATE INDEX auth_sessions_by_browser_session ON auth_sessions (browser_session_id)
    WHERE browser_session_id IS NOT NULL;

-- Authorization codes, single use, stored as SHA-256. `session_id` is the grant issued from a
-- code: a code presented again revokes it (RFC 6749 §4.1.2).
CREATE TABLE oauth2_codes (
    code_hash          bytea PRIMARY KEY,
    client_id          uuid NOT NULL REFERENCES oauth2_clients (id) ON DELETE CASCADE,
    user_id            uuid NOT NULL REFERENCES users (id),
    browser_session_id uuid NOT NULL REFERENCES auth_sessions (id),
    redirect_uri       text NOT NULL,
    scope              text NOT NULL,
    nonce              text,
    code_challenge     text,
    auth_time          timestamptz NOT NULL,
    amr                text[] NOT NULL,
    expires_at         timestamptz NOT NULL,
    used_at            timestamptz,
    session_id         uuid REFERENCES auth_sessions (id)
);
CREATE INDEX oauth2_codes_expiry ON oauth2_codes (expires_at);

-- What a person allowed a (third-party) client, remembered so that they are asked once.
CREATE TABLE oauth2_consents (
    user_id    uuid NOT NULL REFERENCES users (id),
    client_id  uuid NOT NULL REFERENCES oauth2_clients (id) ON DELETE CASCADE,
    scopes     text[] NOT NULL,
    granted_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (user_id, client_id)
);

ALTER TABLE commands DROP CONSTRAINT commands_subject_shape;
ALTER TABLE commands DROP CONSTRAINT IF EXISTS commands_subject_kind_check;
ALTER TABLE commands
    ADD CONSTRAINT commands_subject_kind_check
        CHECK (subject_kind IN ('user', 'password_reset', 'oauth2_client')),
    ADD CONSTRAINT commands_subject_shape CHECK (
        subject_kind IS NULL
        OR (subject_kind IN ('user', 'oauth2_client') AND subject_id IS NOT NULL)
        OR (subject_kind = 'password_reset' AND subject_id IS NULL)
    );
