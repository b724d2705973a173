-- Up Migration
-- Presence: whether a vehicle holds an MQTT session, as the broker nodes see it together
-- (broker/presence.ts keeps the sessions in Redis; broker/presence-sweep.ts writes transitions here).

-- online: null until the vehicle first connects. online_since: start of the current online period
-- (null while offline). last_seen_at: the time of the last transition (the connect, or the end of
-- the last session).
ALTER TABLE vehicles
  ADD COLUMN online       boolean,
  ADD COLUMN online_since timestamptz,
  ADD COLUMN last_seen_at timestamptz;

-- One row per transition, in the time it happened (a disconnect's grace is not part of `at`). Ids
-- come from geofence_events' sequence: /api/events pages both tables in one (at, id) order.
CREATE TABLE presence_events (
  id         bigint PRIMARY KEY DEFAULT nextval(pg_get_serial_sequence('geofence_events', 'id')),
  vehicle_id text NOT NULL,
  kind       text NOT NULL CHECK (kind IN ('online', 'offline')),
  at         timestamptz NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX presence_events_vehicle_at ON presence_events (vehicle_id, at);
CREATE INDEX presence_events_at ON presence_events (at);

-- Whether an alert rule's scope (sql/013_alerts.sql) covers a vehicle, as the worker's wall-clock
-- sweep for offline / no_fix rules judges it (worker/derive/presence-alerts.ts).
CREATE FUNCTION alert_scope_covers(scope jsonb, vehicle text) RETURNS boolean
LANGUAGE sql STABLE AS $fn$
  SELECT CASE scope->>'kind'
    WHEN 'fleet' THEN true
    WHEN 'vehicle' THEN scope->>'vehicleId' = vehicle
    WHEN 'group' THEN EXISTS (SELECT 1 FROM vehicle_group_members m
                              WHERE m.group_id = (scope->>'groupId')::bigint AND m.vehicle_id = vehicle)
    ELSE false
  END
$fn$;

-- Down Migration
DROP FUNCTION alert_scope_covers(jsonb, text);
DROP TABLE presence_events;
ALTER TABLE vehicles DROP COLUMN online, DROP COLUMN online_since, DROP COLUMN last_seen_at;
