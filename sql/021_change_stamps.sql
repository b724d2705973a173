-- Up Migration
-- What the worker caches per process and must see change in the batch's own transaction: the
-- alert rules (their versions and which notify a channel) and the vehicles' group memberships
-- (worker/derive/alert-rules.ts). A stamp row per kind, bumped by every statement that changes
-- one of its tables in that statement's transaction: a batch reads two rows instead of
-- aggregating the rule versions and joining the members of its vehicles every time (that read
-- cost ~23 µs a stored fix with 100 rules: BENCHMARKS.md, "Alerts: three repetitions"). The
-- stamp is n and the row's xmin: a database recreated under the same name does not repeat it.
CREATE TABLE change_stamps (
  name text PRIMARY KEY,
  n    bigint NOT NULL DEFAULT 0
);
INSERT INTO change_stamps (name) VALUES ('alert_rules'), ('vehicle_groups');

CREATE FUNCTION bump_change_stamp() RETURNS trigger
LANGUAGE plpgsql AS $fn$
BEGIN
  UPDATE change_stamps SET n = n + 1 WHERE name = TG_ARGV[0];
  RETURN NULL;
END
$fn$;

-- statement triggers fire for foreign-key cascades too (a vehicle or group deleted)
CREATE TRIGGER alert_rules_stamp AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON alert_rules
FOR EACH STATEMENT EXECUTE FUNCTION bump_change_stamp('alert_rules');
CREATE TRIGGER alert_rule_versions_stamp AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON alert_rule_versions
FOR EACH STATEMENT EXECUTE FUNCTION bump_change_stamp('alert_rules');
CREATE TRIGGER vehicle_group_members_stamp AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON vehicle_group_members
FOR EACH STATEMENT EXECUTE FUNCTION bump_change_stamp('vehicle_groups');

-- Down Migration
DROP TRIGGER vehicle_group_members_stamp ON vehicle_group_members;
DROP TRIGGER alert_rule_versions_stamp ON alert_rule_versions;
DROP TRIGGER alert_rules_stamp ON alert_rules;
DROP FUNCTION bump_change_stamp();
DROP TABLE change_stamps;
