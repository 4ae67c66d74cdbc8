-- The public event log behind GET /api/v1/events: every event with a public type, written in
-- the transaction of the change it describes (next to its outbox row), kept EVENT_RETENTION_DAYS.
--
-- `sequence` counts the events of one subject (1, 2, …): each subject's changes are serialised
-- by the lock on its row, so the next number is read after the previous event committed.
-- `position` is the feed's order and cursor. It cannot be assigned at insert time (a bigserial
-- taken by a transaction that commits later would appear behind a reader's cursor and never be
-- read), so it is stamped after commit, in one transaction at a time (an advisory lock), on
-- the rows committed by then: positions become visible in increasing order, with no gaps.
CREATE TABLE event_log (
    id          uuid PRIMARY KEY,
    type        text NOT NULL,
    subject     uuid NOT NULL,
    sequence    bigint NOT NULL,
    occurred_at timestamptz NOT NULL,
    recorded_at timestamptz NOT NULL DEFAULT clock_timestamp(),
    data        jsonb NOT NULL,
    position    bigint UNIQUE,
    UNIQUE (subject, sequence)
);

CREATE INDEX event_log_unstamped ON event_log (recorded_at) WHERE position IS NULL;
CREATE INDEX event_log_recorded ON event_log (recorded_at);
