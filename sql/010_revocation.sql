-- Up Migration
-- Revocation (docs/security.md, finding 15): a user can be disabled (kept, but may not log in and
-- loses its sessions), an API token revoked (kept as a tombstone, so that a restart cannot bring
-- back a revoked ADMIN_TOKEN or generated admin token), and a session ends when idle
-- (SESSION_IDLE_MINUTES since last_seen_at) as well as at expires_at.
ALTER TABLE users ADD COLUMN disabled_at timestamptz;
ALTER TABLE api_tokens ADD COLUMN revoked_at timestamptz;
ALTER TABLE sessions ADD COLUMN last_seen_at timestamptz NOT NULL DEFAULT now();
-- "log out everywhere" and revocation delete a user's or a token's sessions by owner
CREATE INDEX sessions_user_id ON sessions (user_id) WHERE user_id IS NOT NULL;
CREATE INDEX sessions_token_id ON sessions (token_id) WHERE token_id IS NOT NULL;

-- Down Migration
DROP INDEX sessions_token_id;
DROP INDEX sessions_user_id;
ALTER TABLE sessions DROP COLUMN last_seen_at;
ALTER TABLE api_tokens DROP COLUMN revoked_at;
ALTER TABLE users DROP COLUMN disabled_at;
