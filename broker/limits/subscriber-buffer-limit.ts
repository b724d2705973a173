import type { Client } from "aedes";

type Deliver = (packet: unknown, cb: () => void) => void;

interface DeliveringClient {
  deliver0: Deliver;
  deliverQoS: Deliver;
  conn: { writableLength?: number; writableNeedDrain?: boolean };
}

/**
 * Keeps a subscriber that stops reading (a hung dashboard on `fleet/#`) from stalling ingest, and
 * bounds what it costs. Aedes holds each delivery to a full socket until it drains, and its
 * emitter has 1,000 deliveries in flight: at fleet rates a frozen subscriber fills them within a
 * second, then every publisher waits, for up to drainTimeout; when the timeout released them all at
 * once, the broker overflowed its stack (test/faults, fault 6). So a delivery to a backed-up socket
 * releases the emitter at once (the packet still goes out in order, after what is buffered), and a
 * subscriber with more than `maxBytes` unsent is disconnected, the way WS_MAX_BUFFER_BYTES bounds
 * a live WebSocket client of the API; a persistent session keeps its QoS 1 messages for the
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
      if (unsent > maxBytes) {
        if (!dropped) {
          dropped = true;
          onDrop(client, unsent);
          client.close();
        }
        setImmediate(cb);
        return;
      }
      if (!c.conn.writableNeedDrain) return deliver(packet, cb);
      let done = false;
      const once = () => {
        if (done) return;
        done = true;
        cb();
      };
      deliver(packet, once);
      setImmediate(once);
    };
  c.deliver0 = guard(c.deliver0);
  c.deliverQoS = guard(c.deliverQoS);
}
