-- Up Migration
-- The history's GiST index on location (001_core.sql) served no query: every read of
-- vehicle_locations is by vehicle and time (its primary key); geofence tests probe the polygons'
-- own GiST (geofence_versions). Keeping it cost each stored fix a GiST insert in the worker's
-- transaction and bytes on disk (docs/scaling.md; BENCHMARKS.md "The history's GiST index
-- dropped"). Dropping the partitioned index drops every partition's.
DROP INDEX IF EXISTS vehicle_locations_location_gist;

-- Down Migration
CREATE INDEX vehicle_locations_location_gist ON vehicle_locations USING gist (location);
