-- Up Migration
-- Logitrack core schema: vehicles, partitioned location history, geofences, the dead letter.
-- Times are timestamptz (UTC on the wire); coordinates are WGS 84 (SRID 4326), lng/lat order.

CREATE EXTENSION IF NOT EXISTS postgis;

CREATE TABLE vehicles (
  id              text PRIMARY KEY CHECK (id ~ '^[A-Za-z0-9_-]{1,64}$'),
  name            text,
  plate           text,
  imei            text UNIQUE CHECK (imei ~ '^[0-9]{8,20}$'),
  status          text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'inactive', 'maintenance')),
  -- optimistic locking: every user edit bumps it; PATCH must name the version it read (If-Match)
  version         integer NOT NULL DEFAULT 1,
  -- SHA-256 of the 128-bit device secret (never the secret itself)
  credential_hash bytea NOT NULL,
  created_at      timestamptz NOT NULL DEFAULT now(),
  updated_at      timestamptz NOT NULL DEFAULT now()
);

-- History, partitioned by time so retention is a partition drop and a day's query touches one
-- partition. The primary key makes every write idempotent: a resent fix is stored once.
CREATE TABLE vehicle_locations (
  vehicle_id  text NOT NULL,
  recorded_at timestamptz NOT NULL,
  location    geometry(Point, 4326) NOT NULL,
  speed       real,
  heading     real,
  altitude    real,
  accuracy    real,
  ignition    boolean,
  odometer    double precision,
  message_id  text,
  received_at timestamptz NOT NULL,
  PRIMARY KEY (vehicle_id, recorded_at)
) PARTITION BY RANGE (recorded_at);

CREATE INDEX vehicle_locations_location_gist ON vehicle_locations USING gist (location);

-- Creates the partition holding `at` if it is missing. `unit` is 'day' or 'month'. Serialised by
-- an advisory lock so two workers creating the same partition do not collide.
CREATE FUNCTION ensure_location_partition(at timestamptz, unit text) RETURNS text
LANGUAGE plpgsql AS $fn$
DECLARE
  lo timestamptz := date_trunc(unit, at AT TIME ZONE 'UTC') AT TIME ZONE 'UTC';
  hi timestamptz := (date_trunc(unit, at AT TIME ZONE 'UTC') + ('1 ' || unit)::interval) AT TIME ZONE 'UTC';
  part text := 'vehicle_locations_p' || to_char(lo AT TIME ZONE 'UTC', CASE unit WHEN 'day' THEN 'YYYYMMDD' ELSE 'YYYYMM' END);
BEGIN
  IF unit NOT IN ('day', 'month') THEN
    RAISE EXCEPTION 'partition unit must be day or month, not %', unit;
  END IF;
  IF to_regclass(part) IS NULL THEN
    PERFORM pg_advisory_xact_lock(hashtext('vehicle_locations partitions'));
    IF to_regclass(part) IS NULL THEN
      EXECUTE format('CREATE TABLE %I PARTITION OF vehicle_locations FOR VALUES FROM (%L) TO (%L)', part, lo, hi);
    END IF;
  END IF;
  RETURN part;
END
$fn$;

CREATE TABLE geofences (
  id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  name          text NOT NULL,
  polygon       geometry(Polygon, 4326) NOT NULL CHECK (ST_IsValid(polygon)),
  -- enter only after this many seconds inside (0 = at once): stops GPS jitter flapping
  dwell_seconds integer NOT NULL DEFAULT 0 CHECK (dwell_seconds >= 0),
  version       integer NOT NULL DEFAULT 1,
  created_at    timestamptz NOT NULL DEFAULT now(),
  updated_at    timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX geofences_polygon_gist ON geofences USING gist (polygon);

-- The dead letter: every rejected message (or array element), with its reason, for inspection.
-- (batch_id, seq) makes a retried batch idempotent here too.
CREATE TABLE rejected_messages (
  id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  vehicle_id  text NOT NULL,
  topic       text NOT NULL,
  payload     text NOT NULL,
  reason      text NOT NULL,
  detail      text NOT NULL,
  message_id  text,
  received_at timestamptz NOT NULL,
  batch_id    text NOT NULL,
  seq         integer NOT NULL,
  UNIQUE (batch_id, seq)
);
CREATE INDEX rejected_messages_received_at ON rejected_messages (received_at DESC);
CREATE INDEX rejected_messages_vehicle ON rejected_messages (vehicle_id, received_at DESC);

-- Down Migration
DROP TABLE rejected_messages;
DROP TABLE geofences;
DROP FUNCTION ensure_location_partition(timestamptz, text);
DROP TABLE vehicle_locations;
DROP TABLE vehicles;
