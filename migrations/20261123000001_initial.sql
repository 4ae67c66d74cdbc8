-- Users (the users context), the command log with its idempotency keys, and the transactional
-- outbox that carries commands and events to RabbitMQ.

CREATE TABLE users (
    id            uuid PRIMARY KEY,
    email         text NOT NULL,
    username      text NOT NULL,
    first_name    text NOT NULL,
    last_name     text NOT NULL,
    password_hash text NOT NULL,
    role          text NOT NULL DEFAULT 'user' CHECK (role IN ('user', 'admin')),
    is_active     boolean NOT NULL DEFAULT true,
    version       bigint NOT NULL DEFAULT 1,
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now()
);
-- Emails are stored normalised (lower-case); usernames keep their case but are unique without it.
CREATE UNIQUE INDEX users_email_key ON users (email);
CREATE UNIQUE INDEX users_username_lower_key ON users (lower(username));
CREATE INDEX users_created_at_id ON users (created_at, id);

CREATE TABLE commands (
    id                  uuid PRIMARY KEY,
    type                text NOT NULL,
    status              text NOT NULL DEFAULT 'pending'
                        CHECK (status IN ('pending', 'succeeded', 'failed')),
    idempotency_key     text UNIQUE,
    -- HMAC of the request (keyed with SECRET_KEY): tells a replay from a reuse of the key
    -- without storing anything from which the password could be guessed.
    request_fingerprint bytea,
    error_code          text,
    error_detail        text,
    location            text,
    created_at          timestamptz NOT NULL DEFAULT now(),
    completed_at        timestamptz
);

CREATE TABLE outbox (
    id           bigserial PRIMARY KEY,
    message_id   uuid NOT NULL,
    exchange     text NOT NULL,
    routing_key  text NOT NULL,
    payload      bytea NOT NULL,
    headers      jsonb NOT NULL DEFAULT '{}',
    created_at   timestamptz NOT NULL DEFAULT now(),
    published_at timestamptz
);
CREATE INDEX outbox_unpublished ON outbox (id) WHERE published_at IS NULL;
