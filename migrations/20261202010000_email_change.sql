-- Email change with re-verification (issue 16).
--
-- Two more one-time token purposes: the link that proves the new address ('email_change', sent
-- to the new address) and the link that undoes the change ('email_change_revert', sent to the
-- old one). Each row names the address it is about, so that the token itself stays the only
-- secret and the command that spends it carries nothing but the row's id. As before, only the
-- SHA-256 of a token is stored.

ALTER TABLE one_time_tokens DROP CONSTRAINT one_time_tokens_purpose_check;
ALTER TABLE one_time_tokens ADD CONSTRAINT one_time_tokens_purpose_check CHECK (
    purpose IN ('password_reset', 'email_verification', 'email_change', 'email_change_revert')
);
-- email_change: the new address; email_change_revert: the address to restore.
ALTER TABLE one_time_tokens ADD COLUMN email text;
ALTER TABLE one_time_tokens ADD CONSTRAINT one_time_tokens_email_for_email_change CHECK (
    (purpose IN ('email_change', 'email_change_revert')) = (email IS NOT NULL)
);
