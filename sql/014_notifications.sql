-- Up Migration
-- Notification channels (issue 16): where alerts are delivered, by webhook (config {"url"}, the
-- secret signs each body: X-Logitrack-Signature) or e-mail (config {"to": [...]}). The secret is
-- never answered by the API after creation except masked.
CREATE TABLE notification_channels (
  id bigserial PRIMARY KEY,
  name text NOT NULL,
  kind text NOT NULL CHECK (kind IN ('webhook', 'email')),
  config jsonb NOT NULL,
  secret text,
  enabled boolean NOT NULL DEFAULT true,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  CHECK (kind <> 'webhook' OR secret IS NOT NULL)
);

-- The delivery log: one row per attempt. `delivery_id` names the delivery (one message to one
-- channel: `a<alert id>-<phase>-c<channel id>`, or `t<uuid>-c<channel id>` for "send test"), the
-- idempotency key of the notifications queue (worker/notify/). No foreign key to alerts: an
-- alert id is a number the worker announced, and a test message has none.
CREATE TABLE notification_deliveries (
  id bigserial PRIMARY KEY,
  channel_id bigint NOT NULL REFERENCES notification_channels (id) ON DELETE CASCADE,
  delivery_id text NOT NULL,
  alert_id bigint,
  phase text NOT NULL CHECK (phase IN ('start', 'end', 'test')),
  attempt int NOT NULL CHECK (attempt > 0),
  status text NOT NULL CHECK (status IN ('ok', 'failed', 'dead')),
  http_status int,
  latency_ms int,
  error text,
  -- the message of a dead letter, kept so that it can be read (and sent again by hand)
  payload jsonb,
  at timestamptz NOT NULL DEFAULT now()
);
-- GET /api/notification-channels/:id/deliveries pages newest first by id
CREATE INDEX notification_deliveries_channel ON notification_deliveries (channel_id, id DESC);
CREATE INDEX notification_deliveries_delivery ON notification_deliveries (delivery_id);

-- Down Migration
DROP TABLE notification_deliveries;
DROP TABLE notification_channels;
