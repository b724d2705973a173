-- Up Migration
-- An API token may expire (issue 17): past expires_at it is refused with E_TOKEN_EXPIRED, and the
-- sessions opened with it end with it. Null: it never expires (every token made before this).
ALTER TABLE api_tokens ADD COLUMN expires_at timestamptz;

-- Down Migration
ALTER TABLE api_tokens DROP COLUMN expires_at;
