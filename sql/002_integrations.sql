-- Up Migration
-- Integration accounts (dashboards, Node-RED): MQTT clients that may subscribe to fleet/# but
-- never publish to ingest topics. Credentials as for devices: SHA-256 of a 128-bit secret.
CREATE TABLE integrations (
  name            text PRIMARY KEY CHECK (name ~ '^[A-Za-z0-9_-]{1,64}$'),
  credential_hash bytea NOT NULL,
  created_at      timestamptz NOT NULL DEFAULT now()
);

-- Down Migration
DROP TABLE integrations;
