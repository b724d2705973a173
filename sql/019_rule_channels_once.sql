-- Up Migration
-- A rule names each notification channel once: api/routes/alert-rules.ts refuses a repeat from
-- now on. Rules stored with one keep each channel at its first place, so that their next edit in
-- the web app, which sends the list as it stands, is not refused. Channels only: no rule version.
UPDATE alert_rules r
SET channel_ids = ARRAY(
  SELECT c FROM unnest(r.channel_ids) WITH ORDINALITY AS t(c, i) GROUP BY c ORDER BY min(i)
)
WHERE cardinality(r.channel_ids) > (SELECT count(DISTINCT c) FROM unnest(r.channel_ids) AS u(c));

-- Down Migration
-- Nothing to undo: a repeat named no channel the rule did not name already.
SELECT 1;
