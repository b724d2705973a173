-- Up Migration
-- What the worker caches per process and must see change in the batch's own transaction: the
-- alert rules (their versions and which notify a channel) and the group memberships the rules
-- scope by (worker/derive/alert-rules.ts). A stamp row per kind, bumped by every statement that
-- changes one of its tables, in that statement's transaction: a batch reads two rows instead of
-- aggregating the rule versions and joining the members of its vehicles every time (what that
-- read cost: BENCHMARKS.md, "What a stored fix costs PostgreSQL").
-- Each bump draws a new random token, so a stamp never repeats with other data: not after a
-- restore, a failover that lost transactions, or a database recreated under the same name.
CREATE TABLE change_stamps (
  name  text PRIMARY KEY CHECK (name IN ('alert_rules', 'vehicle_groups')),
  n     bigint NOT NULL DEFAULT 0,
  token uuid NOT NULL DEFAULT gen_random_uuid()
);
INSERT INTO change_stamps (name) VALUES ('alert_rules'), ('vehicle_groups');

-- an upsert: a row that went missing comes back with the next change
CREATE FUNCTION bump_change_stamp() RETURNS trigger
LANGUAGE plpgsql AS $fn$
BEGIN
  INSERT INTO change_stamps AS c (name) VALUES (TG_ARGV[0])
  ON CONFLICT (name) DO UPDATE SET n = c.n + 1, token = gen_random_uuid();
  RETURN NULL;
END
$fn$;

-- statement triggers fire for foreign-key cascades too (a vehicle group deleted)
CREATE TRIGGER alert_rules_stamp AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON alert_rules
FOR EACH STATEMENT EXECUTE FUNCTION bump_change_stamp('alert_rules');
CREATE TRIGGER alert_rule_versions_stamp AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON alert_rule_versions
FOR EACH STATEMENT EXECUTE FUNCTION bump_change_stamp('alert_rules');
CREATE TRIGGER vehicle_group_members_stamp AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON vehicle_group_members
FOR EACH STATEMENT EXECUTE FUNCTION bump_change_stamp('vehicle_groups');

-- the rows are the stamps: deleting them is refused (the worker also caches nothing without both)
CREATE FUNCTION change_stamps_kept() RETURNS trigger
LANGUAGE plpgsql AS $fn$
BEGIN
  RAISE EXCEPTION 'change_stamps rows are kept: % refused', TG_OP USING ERRCODE = 'insufficient_privilege';
END
$fn$;
CREATE TRIGGER change_stamps_no_delete BEFORE DELETE ON change_stamps
FOR EACH ROW EXECUTE FUNCTION change_stamps_kept();
CREATE TRIGGER change_stamps_no_truncate BEFORE TRUNCATE ON change_stamps
FOR EACH STATEMENT EXECUTE FUNCTION change_stamps_kept();

-- Down Migration
DROP TRIGGER vehicle_group_members_stamp ON vehicle_group_members;
DROP TRIGGER alert_rule_versions_stamp ON alert_rule_versions;
DROP TRIGGER alert_rules_stamp ON alert_rules;
DROP FUNCTION bump_change_stamp();
DROP TABLE change_stamps;
DROP FUNCTION change_stamps_kept();
