-- Up Migration
-- Silences in the daily rollup (DESIGN.md 20): a segment between two fixes farther apart than
-- TRIP_GAP_SECONDS counts as neither moving nor idle time and is left out of distance_m; its
-- seconds and its straight-line (geodesic) distance are kept apart here. Rows computed before this
-- migration count silences as driving: `npm run -s logitrack -- recompute` derives them again.
ALTER TABLE daily_vehicle_stats
  ADD COLUMN gap_s double precision NOT NULL DEFAULT 0,
  ADD COLUMN gap_distance_m double precision NOT NULL DEFAULT 0;

-- Down Migration
ALTER TABLE daily_vehicle_stats DROP COLUMN gap_distance_m, DROP COLUMN gap_s;
