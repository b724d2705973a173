-- Up Migration
-- Fleet managers and scripts: users (scrypt password), API tokens (Bearer) and login sessions.
-- Roles: admin (reads and writes) and viewer (reads only).

CREATE TABLE users (
  id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  username      text NOT NULL UNIQUE CHECK (username ~ '^[A-Za-z0-9_.@-]{1,64}$'),
  -- "scrypt$N$r$p$salt$hash" (base64url), see core/users.ts
  password_hash text NOT NULL,
  role          text NOT NULL CHECK (role IN ('admin', 'viewer')),
  created_at    timestamptz NOT NULL DEFAULT now()
);

-- Tokens are 256-bit random secrets, stored as SHA-256 (like device secrets: full entropy, so a
-- fast hash is enough and a lookup by hash is an index probe).
CREATE TABLE api_tokens (
  id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  name       text NOT NULL,
  token_hash bytea NOT NULL UNIQUE,
  role       text NOT NULL CHECK (role IN ('admin', 'viewer')),
  created_at timestamptz NOT NULL DEFAULT now()
);

-- A login session belongs to a user or to the token it was opened with; deleting either ends it.
-- The cookie carries a random id; only its SHA-256 is stored.
CREATE TABLE sessions (
  id_hash    bytea PRIMARY KEY,
  user_id    bigint REFERENCES users (id) ON DELETE CASCADE,
  token_id   bigint REFERENCES api_tokens (id) ON DELETE CASCADE,
  created_at timestamptz NOT NULL DEFAULT now(),
  expires_at timestamptz NOT NULL,
  CHECK (num_nonnulls(user_id, token_id) = 1)
);
CREATE INDEX sessions_expires_at ON sessions (expires_at);

-- Down Migration
DROP TABLE sessions;
DROP TABLE api_tokens;
DROP TABLE users;
