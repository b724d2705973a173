-- Up Migration
-- Alert rules and the alerts they raise (core/alerts.ts; worker/derive/alert-machine.ts).

-- Vehicle groups, as a rule's scope (the UI to manage them comes later).
CREATE TABLE vehicle_groups (
  id   bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  name text NOT NULL UNIQUE
);
CREATE TABLE vehicle_group_members (
  group_id   bigint NOT NULL REFERENCES vehicle_groups (id) ON DELETE CASCADE,
  vehicle_id text NOT NULL,
  PRIMARY KEY (group_id, vehicle_id)
);
CREATE INDEX vehicle_group_members_vehicle ON vehicle_group_members (vehicle_id);

CREATE TABLE alert_rules (
  id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  name        text NOT NULL,
  kind        text NOT NULL CHECK (kind IN ('geofence_enter', 'geofence_exit', 'speeding', 'idling',
                                            'offline', 'no_fix', 'threshold')),
  params      jsonb NOT NULL DEFAULT '{}',
  -- {"kind":"fleet"} | {"kind":"group","groupId":n} | {"kind":"vehicle","vehicleId":"…"}
  scope       jsonb NOT NULL DEFAULT '{"kind":"fleet"}',
  -- notification channels (the notifications build owns them): read when an alert is notified
  channel_ids bigint[] NOT NULL DEFAULT '{}',
  -- {"from":"22:00","to":"06:00"} in FLEET_TZ: alerts starting then are stored, marked quiet, not notified
  quiet_hours jsonb,
  enabled     boolean NOT NULL DEFAULT true,
  version     integer NOT NULL DEFAULT 1,
  created_at  timestamptz NOT NULL DEFAULT now(),
  updated_at  timestamptz NOT NULL DEFAULT now()
);

-- A rule as it was, like geofence_versions (sql/008): the worker judges a fix against the version
-- valid at its recorded_at, so a replay after a late upload gives what the rule said then. An edit
-- applies to fixes recorded after it; a deletion ends the last version (its alerts stay).
CREATE TABLE alert_rule_versions (
  rule_id     bigint NOT NULL,
  valid_from  timestamptz NOT NULL,
  valid_to    timestamptz,
  name        text NOT NULL,
  kind        text NOT NULL,
  params      jsonb NOT NULL,
  scope       jsonb NOT NULL,
  quiet_hours jsonb,
  enabled     boolean NOT NULL,
  PRIMARY KEY (rule_id, valid_from),
  CHECK (valid_to IS NULL OR valid_to > valid_from)
);

CREATE FUNCTION alert_rule_versions_track() RETURNS trigger
LANGUAGE plpgsql AS $fn$
DECLARE
  cur alert_rule_versions%ROWTYPE;
  change_at timestamptz := now();
BEGIN
  IF TG_OP = 'INSERT' THEN
    INSERT INTO alert_rule_versions (rule_id, valid_from, name, kind, params, scope, quiet_hours, enabled)
    VALUES (NEW.id, NEW.created_at, NEW.name, NEW.kind, NEW.params, NEW.scope, NEW.quiet_hours, NEW.enabled);
    RETURN NULL;
  END IF;
  SELECT * INTO cur FROM alert_rule_versions WHERE rule_id = OLD.id AND valid_to IS NULL;
  IF NOT FOUND THEN
    RETURN NULL;
  END IF;
  change_at := greatest(change_at, cur.valid_from);
  IF TG_OP = 'UPDATE' AND NEW.name = cur.name AND NEW.kind = cur.kind AND NEW.params = cur.params
     AND NEW.scope = cur.scope AND NEW.quiet_hours IS NOT DISTINCT FROM cur.quiet_hours
     AND NEW.enabled = cur.enabled THEN
    RETURN NULL; -- nothing a fix is judged by changed (channels, a version bump)
  END IF;
  IF change_at = cur.valid_from THEN
    DELETE FROM alert_rule_versions WHERE rule_id = cur.rule_id AND valid_from = cur.valid_from;
  ELSE
    UPDATE alert_rule_versions SET valid_to = change_at WHERE rule_id = cur.rule_id AND valid_from = cur.valid_from;
  END IF;
  IF TG_OP = 'UPDATE' THEN
    INSERT INTO alert_rule_versions (rule_id, valid_from, name, kind, params, scope, quiet_hours, enabled)
    VALUES (NEW.id, change_at, NEW.name, NEW.kind, NEW.params, NEW.scope, NEW.quiet_hours, NEW.enabled);
  END IF;
  RETURN NULL;
END
$fn$;

CREATE TRIGGER alert_rules_versions AFTER INSERT OR UPDATE OR DELETE ON alert_rules
FOR EACH ROW EXECUTE FUNCTION alert_rule_versions_track();

-- One row per episode, in event time. No foreign keys (the history outlives a deleted rule or
-- vehicle; the rule's name is kept). confirmed_at is the fix that made it an episode (minSeconds
-- reached, geofence dwell done); settled_at the time after which nothing derived can change it
-- (its end or confirmation, whichever is later; never while open): a replay from a checkpoint at
-- c re-derives exactly the episodes settled after c (worker/derive/reconcile-alerts.ts).
CREATE TABLE alerts (
  id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  rule_id         bigint NOT NULL,
  rule_name       text NOT NULL,
  vehicle_id      text NOT NULL,
  kind            text NOT NULL,
  started_at      timestamptz NOT NULL,
  ended_at        timestamptz,
  confirmed_at    timestamptz NOT NULL,
  settled_at      timestamptz GENERATED ALWAYS AS (
                    CASE WHEN ended_at IS NULL THEN 'infinity'::timestamptz ELSE greatest(confirmed_at, ended_at) END
                  ) STORED,
  peak            jsonb,
  lat             double precision,
  lng             double precision,
  quiet           boolean NOT NULL DEFAULT false,
  -- the end phase was announced (a replay that reopens and ends it again does not announce twice)
  end_announced   boolean NOT NULL DEFAULT false,
  acknowledged_at timestamptz,
  acknowledged_by text,
  created_at      timestamptz NOT NULL DEFAULT now(),
  updated_at      timestamptz NOT NULL DEFAULT now(),
  -- deferred: a replay moves episodes' starts in one statement
  CONSTRAINT alerts_episode UNIQUE (rule_id, vehicle_id, started_at) DEFERRABLE INITIALLY DEFERRED
);
CREATE INDEX alerts_vehicle_settled ON alerts (vehicle_id, settled_at);
CREATE INDEX alerts_started ON alerts (started_at, id);
CREATE INDEX alerts_vehicle_started ON alerts (vehicle_id, started_at, id);
CREATE INDEX alerts_rule_started ON alerts (rule_id, started_at, id);

-- Announcements to notify, written in the batch's transaction: the worker hands them to the
-- notifier after COMMIT and deletes them once it accepted them, so a crash or a failing notifier
-- delays a notification (a periodic sweep retries) but never loses it (worker/alert-outbox.ts).
CREATE TABLE alert_outbox (
  id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  alert_id   bigint NOT NULL,
  rule_id    bigint NOT NULL,
  message    jsonb NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now()
);

-- Down Migration
DROP TABLE alert_outbox;
DROP TABLE alerts;
DROP TRIGGER alert_rules_versions ON alert_rules;
DROP FUNCTION alert_rule_versions_track();
DROP TABLE alert_rule_versions;
DROP TABLE alert_rules;
DROP TABLE vehicle_group_members;
DROP TABLE vehicle_groups;
