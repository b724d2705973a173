-- Up Migration
-- Downlink commands: POST /api/vehicles/:id/commands stores one here and every broker node is told
-- (Redis control channel); one node publishes it on fleet/{id}/commands at QoS 1. The device's
-- PUBACK marks it delivered; its answer on fleet/{id}/commands/ack marks it acked (status "ok")
-- or failed (status "error") and keeps its response.
CREATE TABLE commands (
  id           uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  vehicle_id   text NOT NULL REFERENCES vehicles (id) ON DELETE CASCADE,
  payload      jsonb NOT NULL,
  status       text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'delivered', 'acked', 'failed')),
  created_at   timestamptz NOT NULL DEFAULT now(),
  delivered_at timestamptz,
  acked_at     timestamptz,
  response     jsonb
);
CREATE INDEX commands_vehicle_created ON commands (vehicle_id, created_at DESC, id DESC);

-- Down Migration
DROP TABLE commands;
