import type pg from "pg";
import { markDelivered, pendingCommands, recordAnswer } from "../core/commands.ts";
import type { Logger } from "../core/logger.ts";
import { COMMAND, codec12Text, encodeCodec12 } from "./teltonika-codec12.ts";

/** A Teltonika device connected over TCP, as teltonika-tcp.ts hands it over. */
export interface TeltonikaLink {
  send(packet: Buffer): void;
  close(): void;
}

/** A pending command older than this is not sent to a device that connects. */
const PENDING_MAX_AGE_MS = 86_400_000;

export type TeltonikaCommands = ReturnType<typeof createTeltonikaCommands>;

/**
 * Downlink to Teltonika devices over TCP: a command whose payload is a text (`"getinfo"`,
 * `"setdigout 1"`) is written to the device's connection on this node as a Codec 12 command
 * and marked delivered; the device's Codec 12 response, which carries no id, answers the oldest
 * command awaiting one on that connection and is stored as its result (status acked). Commands
 * still pending when a device connects are sent then. Other payloads stay MQTT-only
 * (command-downlink.ts); a command answered by nothing stays delivered.
 */
export function createTeltonikaCommands(deps: { pool: pg.Pool; log: Logger }) {
  const { pool, log } = deps;
  const links = new Map<string, { link: TeltonikaLink; awaiting: string[]; sent: Set<string> }>();

  function send(vehicleId: string, commandId: string, text: string): void {
    const d = links.get(vehicleId);
    if (!d || d.sent.has(commandId)) return;
    d.sent.add(commandId);
    d.awaiting.push(commandId);
    d.link.send(encodeCodec12(COMMAND, text));
    markDelivered(pool, vehicleId, commandId).catch((err: unknown) =>
      log.warn({ err, vehicleId, commandId }, "delivery not recorded"),
    );
    log.info({ vehicleId, commandId }, "codec 12 command sent");
  }

  return {
    /** a device passed the handshake; returns what to call when its connection closes */
    attach(vehicleId: string, link: TeltonikaLink): () => void {
      const entry = { link, awaiting: [], sent: new Set<string>() };
      links.get(vehicleId)?.link.close();
      links.set(vehicleId, entry);
      pendingCommands(pool, vehicleId, PENDING_MAX_AGE_MS).then(
        (commands) => {
          for (const c of commands) {
            const text = codec12Text(c.payload);
            if (text !== undefined) send(vehicleId, c.id, text);
          }
        },
        (err: unknown) => log.warn({ err, vehicleId }, "pending commands not read"),
      );
      return () => {
        if (links.get(vehicleId) === entry) links.delete(vehicleId);
      };
    },
    /** a command from the API (control channel): sent if its device is connected here */
    deliver(cmd: { vehicleId: string; commandId: string; payload: unknown }): void {
      const text = codec12Text(cmd.payload);
      if (text !== undefined) send(cmd.vehicleId, cmd.commandId, text);
    },
    /** the device's Codec 12 response */
    respond(vehicleId: string, text: string): void {
      const commandId = links.get(vehicleId)?.awaiting.shift();
      if (commandId === undefined) {
        log.warn({ vehicleId, text: text.slice(0, 200) }, "codec 12 response to no command: ignored");
        return;
      }
      recordAnswer(pool, vehicleId, commandId, true, text).then(
        (result) => log.debug({ vehicleId, commandId, result }, "codec 12 response"),
        (err: unknown) => log.warn({ err, vehicleId, commandId }, "codec 12 response not recorded"),
      );
    },
    /** a revoked or removed vehicle: its connection is closed */
    revoke(vehicleId: string): void {
      links.get(vehicleId)?.link.close();
    },
  };
}
