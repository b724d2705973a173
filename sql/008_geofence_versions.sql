-- Up Migration
-- Geofences as they were (DESIGN.md 21). Every save of a geofence is a version, valid from the save
-- until the next save or the deletion (valid_to NULL: the current one). The worker judges a fix
-- against the versions valid at its recorded_at, so a replay after a late upload derives what
-- was true then, whatever happened to the geofence since: the events of a deleted or edited
-- geofence stay, and fixes from before a geofence existed cross nothing.
CREATE TABLE geofence_versions (
  geofence_id   bigint NOT NULL,
  valid_from    timestamptz NOT NULL,
  valid_to      timestamptz,
  -- valid_from of the first version in a row with this polygon: where it changes, a vehicle's
  -- side is judged afresh from where it was then (no enter or exit for a boundary moved over it)
  shape_since   timestamptz NOT NULL,
  name          text NOT NULL,
  polygon       geometry(Polygon, 4326) NOT NULL,
  dwell_seconds integer NOT NULL,
  PRIMARY KEY (geofence_id, valid_from),
  CHECK (valid_to IS NULL OR valid_to > valid_from),
  CHECK (shape_since <= valid_from)
);
CREATE INDEX geofence_versions_polygon_gist ON geofence_versions USING gist (polygon);
CREATE INDEX geofence_versions_shape_since ON geofence_versions (shape_since);
CREATE UNIQUE INDEX geofence_versions_current ON geofence_versions (geofence_id) WHERE valid_to IS NULL;

-- Every creation, edit and deletion, numbered in commit order (saves are serialised by an
-- advisory lock). A vehicle's machine remembers the last number it was derived with; a change
-- it has not seen that takes effect before its newest fix re-runs it from there, exactly as a
-- late fix would (worker/derive/derive-vehicles.ts).
CREATE TABLE geofence_changes (
  seq         bigint PRIMARY KEY,
  geofence_id bigint NOT NULL,
  kind        text NOT NULL CHECK (kind IN ('create', 'edit', 'delete')),
  at          timestamptz NOT NULL
);
CREATE INDEX geofence_changes_geofence ON geofence_changes (geofence_id, seq);

-- A version starts at created_at for a new geofence (callers may date it), at updated_at when an
-- edit sets it (PUT /api/geofences/:id does), else at now(); a deletion ends the current one now.
-- A change at the current version's start (the same transaction) replaces that version in place;
-- an edit dated before it is refused (history is not rewritten).
CREATE FUNCTION geofence_versions_track() RETURNS trigger
LANGUAGE plpgsql AS $fn$
DECLARE
  gid         bigint;
  change_at   timestamptz;
  change_kind text;
  cur         geofence_versions%ROWTYPE;
  shape       timestamptz;
BEGIN
  PERFORM pg_advisory_xact_lock(hashtext('geofence changes'));
  IF TG_OP = 'INSERT' THEN
    gid := NEW.id;
    change_kind := 'create';
    change_at := NEW.created_at;
    INSERT INTO geofence_versions (geofence_id, valid_from, shape_since, name, polygon, dwell_seconds)
    VALUES (NEW.id, change_at, change_at, NEW.name, NEW.polygon, NEW.dwell_seconds);
  ELSE
    gid := OLD.id;
    SELECT * INTO cur FROM geofence_versions WHERE geofence_id = gid AND valid_to IS NULL;
    IF NOT FOUND THEN
      RAISE EXCEPTION 'geofence % has no current version', gid;
    END IF;
    change_at := now();
    IF TG_OP = 'UPDATE' THEN
      IF NEW.updated_at IS DISTINCT FROM OLD.updated_at THEN
        change_at := NEW.updated_at;
        IF change_at < cur.valid_from THEN
          RAISE EXCEPTION 'geofence % edited at %, before its current version (%)', gid, change_at, cur.valid_from;
        END IF;
      END IF;
    END IF;
    change_at := greatest(change_at, cur.valid_from);
    IF TG_OP = 'DELETE' THEN
      change_kind := 'delete';
      IF change_at = cur.valid_from THEN
        DELETE FROM geofence_versions WHERE geofence_id = cur.geofence_id AND valid_from = cur.valid_from;
      ELSE
        UPDATE geofence_versions SET valid_to = change_at
        WHERE geofence_id = cur.geofence_id AND valid_from = cur.valid_from;
      END IF;
    ELSE
      change_kind := 'edit';
      IF NEW.name = cur.name AND NEW.dwell_seconds = cur.dwell_seconds AND ST_Equals(NEW.polygon, cur.polygon) THEN
        RETURN NULL; -- nothing a fix is judged by changed (a version bump alone)
      END IF;
      shape := CASE WHEN ST_Equals(NEW.polygon, cur.polygon) THEN cur.shape_since ELSE change_at END;
      IF change_at = cur.valid_from THEN
        UPDATE geofence_versions
        SET name = NEW.name, polygon = NEW.polygon, dwell_seconds = NEW.dwell_seconds, shape_since = shape
        WHERE geofence_id = cur.geofence_id AND valid_from = cur.valid_from;
      ELSE
        UPDATE geofence_versions SET valid_to = change_at
        WHERE geofence_id = cur.geofence_id AND valid_from = cur.valid_from;
        INSERT INTO geofence_versions (geofence_id, valid_from, shape_since, name, polygon, dwell_seconds)
        VALUES (gid, change_at, shape, NEW.name, NEW.polygon, NEW.dwell_seconds);
      END IF;
    END IF;
  END IF;
  INSERT INTO geofence_changes (seq, geofence_id, kind, at)
  SELECT COALESCE(max(seq), 0) + 1, gid, change_kind, change_at FROM geofence_changes;
  RETURN NULL;
END
$fn$;

CREATE TRIGGER geofences_versions AFTER INSERT OR UPDATE OR DELETE ON geofences
FOR EACH ROW EXECUTE FUNCTION geofence_versions_track();

-- Existing geofences: their polygon is known from their last save on; what they were before
-- is not, and a replay leaves the events of a time with no known version as they are.
INSERT INTO geofence_versions (geofence_id, valid_from, shape_since, name, polygon, dwell_seconds)
SELECT id, updated_at, updated_at, name, polygon, dwell_seconds FROM geofences;

-- Down Migration
DROP TRIGGER geofences_versions ON geofences;
DROP FUNCTION geofence_versions_track();
DROP TABLE geofence_changes;
DROP TABLE geofence_versions;
