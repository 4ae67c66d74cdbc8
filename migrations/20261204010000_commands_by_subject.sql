-- A user's recent commands (GET /api/v1/users/{id}/commands, the admin console) are read
-- newest first by subject; without this index that read scans the whole command log.
CREATE INDEX commands_by_subject ON commands (subject_id, created_at DESC)
    WHERE subject_id IS NOT NULL;
