-- A command's outcome names what it was about by id (`subject_kind`, `subject_id`) instead of
-- by URL: the API owns its paths and builds `Location` from the id. Rows written before are
-- backfilled from `location`, which is no longer written (to be dropped once no replica that
-- reads it runs).

ALTER TABLE commands
    ADD COLUMN subject_kind text CHECK (subject_kind IN ('user', 'password_reset')),
    ADD COLUMN subject_id   uuid,
    -- A user subject carries its id; a password reset deliberately names no account.
    ADD CONSTRAINT commands_subject_shape CHECK (
        subject_kind IS NULL
        OR (subject_kind = 'user' AND subject_id IS NOT NULL)
        OR (subject_kind = 'password_reset' AND subject_id IS NULL)
    );

UPDATE commands
SET subject_kind = 'user',
    subject_id = substring(location FROM '^/api/v1/users/([0-9a-fA-F-]{36})$')::uuid
WHERE location ~ '^/api/v1/users/[0-9a-fA-F-]{36}$';

UPDATE commands
SET subject_kind = 'password_reset'
WHERE location = '/api/v1/auth/password-reset';
