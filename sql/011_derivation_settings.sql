-- Up Migration
-- The rules the worker derives trips, stops, geofence events and the daily rollup with
-- (worker/derive/derivation-settings.ts), written by each worker at start. `logitrack recompute`
-- compares its own environment with them and refuses to rewrite history with other rules unless
-- told to (--use-current-env). One row.
CREATE TABLE derivation_settings (
  id          boolean PRIMARY KEY DEFAULT true CHECK (id),
  settings    jsonb NOT NULL,
  recorded_at timestamptz NOT NULL DEFAULT now(),
  recorded_by text NOT NULL
);

-- Down Migration
DROP TABLE derivation_settings;
