-- The notifications context's own table: one row per welcome sent. The event id is the key, so a
-- redelivered UserCreated event records (and sends) nothing twice.

CREATE TABLE notifications (
    event_id   uuid PRIMARY KEY,
    user_id    uuid NOT NULL,
    email      text NOT NULL,
    kind       text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX notifications_user_id ON notifications (user_id);
