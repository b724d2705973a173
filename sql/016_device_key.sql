-- Up Migration
-- The device key of a vehicle: a second 128-bit random secret, for devices that can send no
-- password (Traccar Client's OsmAnd protocol names its device by `id` alone, so the id must be
-- the secret). Stored as its SHA-256 like credential_hash; unique, as it alone names the vehicle.
-- Null for a vehicle registered before this migration, until its credentials are rotated.
ALTER TABLE vehicles ADD COLUMN device_key_hash bytea UNIQUE;

-- Down Migration
ALTER TABLE vehicles DROP COLUMN device_key_hash;
