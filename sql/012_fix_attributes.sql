-- Up Migration
-- Device-specific values of a fix (every Teltonika AVL IO element as `io{id}`, and named ones
-- such as externalVoltage): core/fix.ts bounds them. Nullable, as most formats carry none; a
-- nullable column without a default changes the catalogue only, no partition is rewritten.
ALTER TABLE vehicle_locations ADD COLUMN attributes jsonb;

-- Down Migration
ALTER TABLE vehicle_locations DROP COLUMN attributes;
