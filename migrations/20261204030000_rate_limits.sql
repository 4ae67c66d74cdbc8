-- The per-client request-rate limit shared by every API replica: one GCRA state per client key,
-- its theoretical arrival time (`tat`). A request is allowed when, counting it, the client is no
-- more than `burst` emission intervals ahead of now; allowing it moves `tat` one interval on.
-- Rows of clients idle for an hour are deleted by the rate-limit store.
CREATE TABLE rate_limits (
    key     text PRIMARY KEY,
    tat     timestamptz NOT NULL,
    -- Whether the last request was allowed: what the upsert returns.
    allowed boolean NOT NULL
);
CREATE INDEX rate_limits_tat ON rate_limits (tat);
