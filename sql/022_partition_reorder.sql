-- Up Migration
-- Closed partitions rewritten once in vehicle order (worker/maintenance.ts, reorderClosedPartitions).
-- Fixes arrive time-major (every vehicle's fix of one instant, then the next), so one vehicle's day
-- lies on as many heap pages as it has fixes; a history or day-track read costs a page per fix.
-- Rewritten in primary-key order (vehicle_id, recorded_at), each vehicle's day lies on a few pages
-- (TimescaleDB's reorder policy does the same to closed chunks). The rewrite marks the new
-- partition's primary key as its cluster index (pg_index.indisclustered): `ordered` in
-- location_partitions says a partition was rewritten. Fixes stored in it afterwards (late uploads)
-- are appended, and it is not rewritten again.

CREATE OR REPLACE VIEW location_partitions AS
SELECT c.relname::text AS name,
       b[1]::timestamptz AS lo,
       b[2]::timestamptz AS hi,
       EXISTS (SELECT 1 FROM pg_index x WHERE x.indrelid = c.oid AND x.indisprimary AND x.indisclustered) AS ordered
FROM pg_inherits i
JOIN pg_class c ON c.oid = i.inhrelid
CROSS JOIN LATERAL regexp_match(pg_get_expr(c.relpartbound, c.oid), 'FROM \(''([^'']+)''\) TO \(''([^'']+)''\)') AS b
WHERE i.inhparent = 'vehicle_locations'::regclass;

-- Rewrites one partition of vehicle_locations in primary-key order; returns its rows (NULL: no such
-- partition). Like drop_location_partition, only a partition of vehicle_locations, named through
-- format('%I'). Not CLUSTER, which holds the partition's ACCESS EXCLUSIVE lock while it rewrites
-- it, and PostgreSQL 15 locks every partition a query cannot prune at plan time (the worker's track
-- read does not prune): every batch would wait for the whole rewrite. Here the copy runs under a
-- SHARE lock, which lets every read through and holds only writes to this partition (a batch with
-- a late fix of that day waits for the copy, no other batch does), and the copy is swapped in
-- (DETACH, DROP, ATTACH) in the same transaction: locks on the table held for the catalog changes
-- only. One transaction: nothing written to the day can be lost between the copy and the swap. The
-- caller sets lock_timeout (a swap that cannot have its locks soon is abandoned, whole, and tried
-- again later); a deadlock with a batch aborts one of them, and either is retried.
CREATE FUNCTION reorder_location_partition(part text) RETURNS bigint
LANGUAGE plpgsql AS $fn$
DECLARE
  rel   oid;
  lo    timestamptz;
  hi    timestamptz;
  bound text;
  pkey  text;
  tmp   text := left(part, 50) || '_reordered';
  n     bigint;
BEGIN
  SELECT c.oid, p.lo, p.hi, pg_get_expr(c.relpartbound, c.oid), ic.relname INTO rel, lo, hi, bound, pkey
  FROM location_partitions p
  JOIN pg_class c ON c.relname = p.name AND c.relkind = 'r'
  JOIN pg_inherits h ON h.inhrelid = c.oid AND h.inhparent = 'vehicle_locations'::regclass
  JOIN pg_index x ON x.indrelid = c.oid AND x.indisprimary
  JOIN pg_class ic ON ic.oid = x.indexrelid
  WHERE p.name = part;
  IF rel IS NULL THEN
    RETURN NULL;
  END IF;
  EXECUTE format('LOCK TABLE %I IN SHARE MODE', part);
  EXECUTE format('CREATE TABLE %I (LIKE %I INCLUDING DEFAULTS INCLUDING STORAGE INCLUDING COMPRESSION)', tmp, part);
  -- the partition's bounds as a constraint: ATTACH then need not scan the copy to check them
  EXECUTE format('ALTER TABLE %I ADD CONSTRAINT reorder_bounds CHECK (recorded_at >= %L AND recorded_at < %L)', tmp, lo, hi);
  EXECUTE format('INSERT INTO %I SELECT * FROM %I ORDER BY vehicle_id, recorded_at', tmp, part);
  GET DIAGNOSTICS n = ROW_COUNT;
  EXECUTE format('ALTER TABLE %I ADD PRIMARY KEY (vehicle_id, recorded_at)', tmp);
  -- the swap: the parent's lock for the catalog changes only
  EXECUTE format('ALTER TABLE vehicle_locations DETACH PARTITION %I', part);
  EXECUTE format('DROP TABLE %I', part);
  EXECUTE format('ALTER TABLE %I RENAME TO %I', tmp, part);
  EXECUTE format('ALTER INDEX %I RENAME TO %I', tmp || '_pkey', pkey);
  -- the bound as the catalog printed it ("FOR VALUES FROM (...) TO (...)"), not a caller's text
  EXECUTE format('ALTER TABLE vehicle_locations ATTACH PARTITION %I %s', part, bound);
  EXECUTE format('ALTER TABLE %I DROP CONSTRAINT reorder_bounds', part);
  EXECUTE format('ALTER TABLE %I CLUSTER ON %I', part, pkey);
  EXECUTE format('ANALYZE %I', part);
  RETURN n;
END
$fn$;

-- Down Migration
DROP FUNCTION reorder_location_partition(text);
DROP VIEW location_partitions;
CREATE VIEW location_partitions AS
SELECT c.relname::text AS name,
       b[1]::timestamptz AS lo,
       b[2]::timestamptz AS hi
FROM pg_inherits i
JOIN pg_class c ON c.oid = i.inhrelid
CROSS JOIN LATERAL regexp_match(pg_get_expr(c.relpartbound, c.oid), 'FROM \(''([^'']+)''\) TO \(''([^'']+)''\)') AS b
WHERE i.inhparent = 'vehicle_locations'::regclass;
