import type { Client } from "aedes";

type Deliver = (packet: unknown, cb: () => void) => void;

interface DeliveringClient {
  deliver0: Deliver;
  deliverQoS: Deliver;
  conn: { writableLength?: number };
}

/**
 * Disconnects a subscriber with more than `maxBytes` written to its connection and not yet sent.
 * A subscriber that stops reading (a hung dashboard on `fleet/#`) does not slow ingest: Aedes keeps
 * writing to it, and once the kernel's buffers are full its messages pile up in the broker's memory
 * at the fleet's rate, until `drainTimeout` ends it (test/faults, fault 6). This bounds that pile in
 * bytes too, the way WS_MAX_BUFFER_BYTES bounds a live WebSocket client of the API. Checked before
 * each delivery (one property read); a persistent session keeps its QoS 1 messages for the
 * reconnect. Installed in preConnect, before Aedes captures the delivery functions.
 */
export function limitSubscriberBuffer(
  client: Client,
  maxBytes: number,
  onDrop: (client: Client, unsentBytes: number) => void,
): void {
  const c = client as unknown as DeliveringClient;
  let dropped = false;
  const guard =
    (deliver: Deliver): Deliver =>
    (packet, cb) => {
      const unsent = c.conn.writableLength ?? 0;
      if (unsent <= maxBytes) return deliver(packet, cb);
      if (!dropped) {
        dropped = true;
        onDrop(client, unsent);
        client.close();
      }
      setImmediate(cb);
    };
  c.deliver0 = guard(c.deliver0);
  c.deliverQoS = guard(c.deliverQoS);
}
