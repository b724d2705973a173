-- Up Migration
-- Retention drops a partition through this function instead of a DROP TABLE text built in the
-- worker from a name (test/security/sql-parameters.test.ts: SQL is built with parameters only).
-- format('%I') quotes the name, and only a partition of vehicle_locations can be dropped. The
-- advisory lock is location_partition_for's: a drop never interleaves with a creation.
CREATE FUNCTION drop_location_partition(part text) RETURNS boolean
LANGUAGE plpgsql AS $fn$
BEGIN
  PERFORM pg_advisory_xact_lock(hashtext('vehicle_locations partitions'));
  IF NOT EXISTS (SELECT 1 FROM location_partitions p WHERE p.name = part) THEN
    RETURN false;
  END IF;
  EXECUTE format('DROP TABLE %I', part);
  RETURN true;
END
$fn$;

-- Down Migration
DROP FUNCTION drop_location_partition(text);
