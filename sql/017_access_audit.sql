-- Up Migration
-- Per-user access (issue 17): an operator role between admin and viewer, and vehicle groups
-- (sql/013_alerts.sql) granted to users, API tokens and MQTT integration accounts. An account
-- sees the whole fleet (all_vehicles, as every account did before) until an admin limits it to
-- groups (PUT /api/users/:username/access, …): then it sees the vehicles of those groups only, and
-- none while it has none (api/vehicle-scope.ts). Admins always see every vehicle. Group
-- membership has no foreign key to vehicles: a removed vehicle's history stays with its groups.
ALTER TABLE users DROP CONSTRAINT users_role_check;
ALTER TABLE users ADD CONSTRAINT users_role_check CHECK (role IN ('admin', 'operator', 'viewer'));
ALTER TABLE api_tokens DROP CONSTRAINT api_tokens_role_check;
ALTER TABLE api_tokens ADD CONSTRAINT api_tokens_role_check CHECK (role IN ('admin', 'operator', 'viewer'));

ALTER TABLE users ADD COLUMN all_vehicles boolean NOT NULL DEFAULT true;
ALTER TABLE api_tokens ADD COLUMN all_vehicles boolean NOT NULL DEFAULT true;
ALTER TABLE integrations ADD COLUMN all_vehicles boolean NOT NULL DEFAULT true;

CREATE TABLE user_groups (
  user_id  bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  group_id bigint NOT NULL REFERENCES vehicle_groups (id) ON DELETE CASCADE,
  PRIMARY KEY (user_id, group_id)
);
CREATE TABLE token_groups (
  token_id bigint NOT NULL REFERENCES api_tokens (id) ON DELETE CASCADE,
  group_id bigint NOT NULL REFERENCES vehicle_groups (id) ON DELETE CASCADE,
  PRIMARY KEY (token_id, group_id)
);
CREATE TABLE integration_groups (
  integration text NOT NULL REFERENCES integrations (name) ON DELETE CASCADE,
  group_id    bigint NOT NULL REFERENCES vehicle_groups (id) ON DELETE CASCADE,
  PRIMARY KEY (integration, group_id)
);

-- Every write through the API or the CLI (api/audit-hook.ts, scripts/cli.ts): who, what, when,
-- from where, the outcome and, where the route provides them, the entity before and after.
CREATE TABLE audit_log (
  id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  at         timestamptz NOT NULL DEFAULT clock_timestamp(),
  -- "user:<name>", "token:<name>", "cli:<os user>"
  actor      text NOT NULL,
  source     text NOT NULL CHECK (source IN ('api', 'cli')),
  ip         text,
  -- "POST /api/vehicles/:id/commands", or the CLI command ("vehicle add")
  action     text NOT NULL,
  entity     text NOT NULL,
  entity_id  text,
  params     jsonb NOT NULL DEFAULT '{}',
  -- the HTTP status, or the CLI's exit code
  status     integer NOT NULL,
  before     jsonb,
  after      jsonb,
  request_id text
);
CREATE INDEX audit_log_at ON audit_log (at, id);
CREATE INDEX audit_log_actor ON audit_log (actor, at);
CREATE INDEX audit_log_entity ON audit_log (entity, entity_id, at);

-- Append-only: a row once written is never changed or removed, whatever role the caller has
-- short of dropping the trigger (which a migration, not the application, would do).
CREATE FUNCTION audit_log_append_only() RETURNS trigger
LANGUAGE plpgsql AS $fn$
BEGIN
  RAISE EXCEPTION 'audit_log is append-only: % refused', TG_OP USING ERRCODE = 'insufficient_privilege';
END
$fn$;
CREATE TRIGGER audit_log_no_update_delete BEFORE UPDATE OR DELETE ON audit_log
FOR EACH ROW EXECUTE FUNCTION audit_log_append_only();
CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only();

-- Down Migration
DROP TABLE audit_log;
DROP FUNCTION audit_log_append_only();
DROP TABLE integration_groups;
DROP TABLE token_groups;
DROP TABLE user_groups;
ALTER TABLE integrations DROP COLUMN all_vehicles;
ALTER TABLE api_tokens DROP COLUMN all_vehicles;
ALTER TABLE users DROP COLUMN all_vehicles;
UPDATE api_tokens SET role = 'viewer' WHERE role = 'operator';
UPDATE users SET role = 'viewer' WHERE role = 'operator';
ALTER TABLE api_tokens DROP CONSTRAINT api_tokens_role_check;
ALTER TABLE api_tokens ADD CONSTRAINT api_tokens_role_check CHECK (role IN ('admin', 'viewer'));
ALTER TABLE users DROP CONSTRAINT users_role_check;
ALTER TABLE users ADD CONSTRAINT users_role_check CHECK (role IN ('admin', 'viewer'));
