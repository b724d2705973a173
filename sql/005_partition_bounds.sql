-- Up Migration
-- vehicle_locations partitions by their real bounds, and on-demand creation that never fails a batch.
--
-- 001's ensure_location_partition found partitions by name and re-checked with to_regclass after
-- the advisory lock; that check reads the backend's catalog cache, which an advisory lock does not
-- refresh, so two workers missing the same day both ran CREATE TABLE and one batch failed
-- ("relation … already exists", seen in test/ingest.test.ts logs). It also could not cope with a
-- change of PARTITION_INTERVAL: a month partition overlapping existing day partitions is refused.
-- Here partitions are looked up by bounds (an MVCC read of pg_class, fresh after the lock), a new
-- partition is shrunk to the gap between its neighbours, and a lost race is caught.

CREATE VIEW location_partitions AS
SELECT c.relname::text AS name,
       b[1]::timestamptz AS lo,
       b[2]::timestamptz AS hi
FROM pg_inherits i
JOIN pg_class c ON c.oid = i.inhrelid
CROSS JOIN LATERAL regexp_match(pg_get_expr(c.relpartbound, c.oid), 'FROM \(''([^'']+)''\) TO \(''([^'']+)''\)') AS b
WHERE i.inhparent = 'vehicle_locations'::regclass;

-- The partition holding `at`, created when missing. `unit` ('day' | 'month', UTC) sizes a new
-- partition; where partitions of another size already exist around `at`, the new one fills only
-- the gap between them, so switching PARTITION_INTERVAL never produces an overlap error.
CREATE FUNCTION location_partition_for(at timestamptz, unit text)
RETURNS TABLE (name text, lo timestamptz, hi timestamptz)
LANGUAGE plpgsql AS $fn$
DECLARE
  new_lo timestamptz;
  new_hi timestamptz;
  part   text;
BEGIN
  IF unit NOT IN ('day', 'month') THEN
    RAISE EXCEPTION 'partition unit must be day or month, not %', unit;
  END IF;
  RETURN QUERY SELECT p.name, p.lo, p.hi FROM location_partitions p WHERE p.lo <= at AND at < p.hi;
  IF FOUND THEN RETURN; END IF;

  PERFORM pg_advisory_xact_lock(hashtext('vehicle_locations partitions'));
  -- a new statement: its snapshot sees a partition committed while we waited for the lock
  RETURN QUERY SELECT p.name, p.lo, p.hi FROM location_partitions p WHERE p.lo <= at AND at < p.hi;
  IF FOUND THEN RETURN; END IF;

  new_lo := date_trunc(unit, at AT TIME ZONE 'UTC') AT TIME ZONE 'UTC';
  new_hi := (date_trunc(unit, at AT TIME ZONE 'UTC') + ('1 ' || unit)::interval) AT TIME ZONE 'UTC';
  SELECT greatest(new_lo, max(p.hi)) INTO new_lo FROM location_partitions p WHERE p.hi <= at;
  SELECT least(new_hi, min(p.lo)) INTO new_hi FROM location_partitions p WHERE p.lo > at;
  part := 'vehicle_locations_p' || to_char(new_lo AT TIME ZONE 'UTC', CASE unit WHEN 'day' THEN 'YYYYMMDD' ELSE 'YYYYMM' END);
  IF new_lo <> date_trunc(unit, at AT TIME ZONE 'UTC') AT TIME ZONE 'UTC'
     OR new_hi <> (date_trunc(unit, at AT TIME ZONE 'UTC') + ('1 ' || unit)::interval) AT TIME ZONE 'UTC' THEN
    part := 'vehicle_locations_p' || to_char(new_lo AT TIME ZONE 'UTC', 'YYYYMMDD"t"HH24MISS');
  END IF;
  BEGIN
    EXECUTE format('CREATE TABLE %I PARTITION OF vehicle_locations FOR VALUES FROM (%L) TO (%L)', part, new_lo, new_hi);
  EXCEPTION WHEN duplicate_table THEN
    NULL; -- created by a session that does not take our lock (an operator): use it below
  END;
  RETURN QUERY SELECT p.name, p.lo, p.hi FROM location_partitions p WHERE p.lo <= at AND at < p.hi;
END
$fn$;

-- 001's signature, kept for callers and operators: now a wrapper of the above.
CREATE OR REPLACE FUNCTION ensure_location_partition(at timestamptz, unit text) RETURNS text
LANGUAGE sql AS $fn$ SELECT name FROM location_partition_for(at, unit) $fn$;

-- Down Migration
CREATE OR REPLACE FUNCTION ensure_location_partition(at timestamptz, unit text) RETURNS text
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
DROP FUNCTION location_partition_for(timestamptz, text);
DROP VIEW location_partitions;
