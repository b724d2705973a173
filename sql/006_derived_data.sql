-- Up Migration
-- What the worker derives from the history, in event time (recorded_at): per-vehicle state,
-- replay checkpoints, daily analytics, trips and stops, geofence events, and the anomalies of
-- late, duplicate and clock-skewed fixes. None of these tables references vehicle_locations, so
-- dropping a partition for retention leaves them whole. No foreign key to vehicles either (as for
-- vehicle_locations, DESIGN.md 9): a vehicle deleted while its fixes are queued must not turn its
-- batches into jobs that fail forever.

-- Fast-moving state of a vehicle, outside the versioned `vehicles` row, so the worker never
-- touches a row a user edits with If-Match. The worker locks these rows (FOR UPDATE, in id order)
-- for the whole batch transaction: two workers never derive the same vehicle at once.
CREATE TABLE vehicle_state (
  vehicle_id       text PRIMARY KEY,
  -- newest fix stored (late-fix detection) and when it was received
  last_fix_at      timestamptz,
  last_received_at timestamptz,
  -- inside a trip (moving) or between trips (stopped), as of last_fix_at
  moving           boolean NOT NULL DEFAULT false,
  -- trip/stop and geofence state machine after last_fix_at (worker/derive/vehicle-machine.ts)
  machine          jsonb,
  updated_at       timestamptz NOT NULL DEFAULT now()
);

-- Snapshots of the machine at most once an hour of event time: a late fix at t re-runs the
-- machine from the newest checkpoint before t instead of from the start of the history.
CREATE TABLE vehicle_checkpoints (
  vehicle_id text NOT NULL,
  at         timestamptz NOT NULL,
  state      jsonb NOT NULL,
  PRIMARY KEY (vehicle_id, at)
);

-- Daily analytics per vehicle and fleet day (FLEET_TZ), maintained incrementally by the worker
-- (worker/derive/daily-analytics.ts): appended fixes extend the row, a late fix recomputes its day.
CREATE TABLE daily_vehicle_stats (
  vehicle_id     text NOT NULL,
  day            date NOT NULL,
  fixes          integer NOT NULL,
  -- geodesic (spheroid) sum over consecutive fixes of the day, metres
  distance_m     double precision NOT NULL,
  -- seconds from one fix to the next, credited to the first fix's state
  moving_s       double precision NOT NULL,
  idle_s         double precision NOT NULL,
  -- sum of speed x seconds while moving (km/h·s): the time-weighted average speed's numerator
  moving_speed_s double precision NOT NULL,
  avg_speed_kmh  double precision GENERATED ALWAYS AS (CASE WHEN moving_s > 0 THEN moving_speed_s / moving_s END) STORED,
  max_speed_kmh  double precision,
  first_fix_at   timestamptz NOT NULL,
  last_fix_at    timestamptz NOT NULL,
  updated_at     timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (vehicle_id, day)
);
CREATE INDEX daily_vehicle_stats_day ON daily_vehicle_stats (day, vehicle_id);

-- Trips (ignition and speed, worker/derive/vehicle-machine.ts). closed_at is the time of the fix that
-- closed the trip: a replay from a checkpoint at c replaces exactly the rows closed after c.
CREATE TABLE trips (
  id             bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  vehicle_id     text NOT NULL,
  started_at     timestamptz NOT NULL,
  ended_at       timestamptz NOT NULL,
  closed_at      timestamptz NOT NULL,
  distance_m     double precision NOT NULL,
  max_speed_kmh  double precision,
  avg_speed_kmh  double precision,
  start_location geometry(Point, 4326) NOT NULL,
  end_location   geometry(Point, 4326) NOT NULL,
  UNIQUE (vehicle_id, started_at)
);
CREATE INDEX trips_vehicle_closed ON trips (vehicle_id, closed_at);
CREATE INDEX trips_started_at ON trips (started_at);

-- Stops: the time between two trips, where the first one ended.
CREATE TABLE stops (
  id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  vehicle_id text NOT NULL,
  started_at timestamptz NOT NULL,
  ended_at   timestamptz NOT NULL,
  closed_at  timestamptz NOT NULL,
  location   geometry(Point, 4326) NOT NULL,
  UNIQUE (vehicle_id, started_at)
);
CREATE INDEX stops_vehicle_closed ON stops (vehicle_id, closed_at);
CREATE INDEX stops_started_at ON stops (started_at);

-- Geofence transitions in event time. `at` is the fix where the vehicle crossed (the first fix
-- on the new side), `confirmed_at` the fix that made it certain (dwell). No foreign key to
-- geofences: the history outlives a deleted geofence, whose name is kept here.
CREATE TABLE geofence_events (
  id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  vehicle_id    text NOT NULL,
  geofence_id   bigint NOT NULL,
  geofence_name text NOT NULL,
  kind          text NOT NULL CHECK (kind IN ('enter', 'exit')),
  at            timestamptz NOT NULL,
  confirmed_at  timestamptz NOT NULL,
  location      geometry(Point, 4326) NOT NULL,
  created_at    timestamptz NOT NULL DEFAULT now(),
  UNIQUE (vehicle_id, geofence_id, kind, at)
);
CREATE INDEX geofence_events_vehicle_at ON geofence_events (vehicle_id, at);
CREATE INDEX geofence_events_vehicle_confirmed ON geofence_events (vehicle_id, confirmed_at);
CREATE INDEX geofence_events_geofence_at ON geofence_events (geofence_id, at);
CREATE INDEX geofence_events_at ON geofence_events (at);

-- Late (older than the vehicle's newest fix at arrival), duplicate (already stored, resent) and
-- skewed (device clock: received long after recorded_at, or dated in the future) fixes.
CREATE TABLE location_anomalies (
  id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  vehicle_id  text NOT NULL,
  recorded_at timestamptz NOT NULL,
  kind        text NOT NULL CHECK (kind IN ('late', 'duplicate', 'skewed')),
  received_at timestamptz NOT NULL,
  detail      text NOT NULL
);
CREATE INDEX location_anomalies_vehicle ON location_anomalies (vehicle_id, id DESC);
CREATE INDEX location_anomalies_kind ON location_anomalies (kind, id DESC);
CREATE INDEX location_anomalies_received_at ON location_anomalies (received_at);

-- Down Migration
DROP TABLE location_anomalies;
DROP TABLE geofence_events;
DROP TABLE stops;
DROP TABLE trips;
DROP TABLE daily_vehicle_stats;
DROP TABLE vehicle_checkpoints;
DROP TABLE vehicle_state;
