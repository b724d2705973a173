import { connectPacket, openRaw, subscribePacket } from "../../security/support/raw-mqtt.ts";
import { sleep } from "../../support/wait.ts";

export interface FrozenSubscriber {
  close(): void;
}

/**
 * An integration account subscribed to `fleet/#` at QoS 1 that stops reading its socket after the
 * SUBACK: a dashboard whose process hangs. Its kernel buffers fill, then Aedes' writes to it wait
 * for a drain that never comes, until MQTT_DRAIN_TIMEOUT_MS disconnects it.
 */
export async function freezeSubscriber(o: {
  port: number;
  username: string;
  password: string;
}): Promise<FrozenSubscriber> {
  const raw = await openRaw(o.port);
  raw.socket.write(
    connectPacket({ clientId: `${o.username}:frozen`, username: o.username, password: o.password }),
  );
  raw.socket.write(subscribePacket("fleet/#", 1, 1));
  for (let i = 0; i < 200 && !raw.received().includes(0x90); i++) await sleep(25);
  if (raw.connack() !== 0) throw new Error(`frozen subscriber refused: CONNACK ${raw.connack()}`);
  // stop reading: no 'data' listener in flowing mode, so the socket reads nothing more
  raw.socket.removeAllListeners("data");
  raw.socket.pause();
  // (a paused socket does not even notice the broker closing it: the broker's log says when)
  return { close: () => raw.socket.destroy() };
}
