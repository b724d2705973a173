import { createServer, type Server, type Socket } from "node:net";
import {
  CODEC_8,
  CODEC_8E,
  crc16Ibm,
  declaredPacketLength,
  HEADER_BYTES,
} from "../bridge/adapters/teltonika-codec8.ts";
import type { IncomingMessage, IngestOutcome } from "../bridge/bridge.ts";
import type { ResolveImei } from "../bridge/imei-resolver.ts";
import type { Logger } from "../core/logger.ts";
import { IMEI_RE, topics } from "../core/topics.ts";
import { CODEC_12, decodeCodec12, RESPONSE } from "./teltonika-codec12.ts";
import type { TeltonikaCommands } from "./teltonika-commands.ts";

export type TeltonikaRefusal = "crc" | "unknown_imei" | "bad_stream" | "oversized";

export interface TeltonikaTcpDeps {
  port: number;
  host: string;
  /** an AVL packet's data field may hold this much (MAX_PAYLOAD_BYTES, the bridge's own cap) */
  maxPayloadBytes: number;
  idleTimeoutMs: number;
  /** a connection that has not completed the IMEI handshake this long after it opened is closed */
  handshakeTimeoutMs: number;
  /** counts this listener's open connections with the MQTT ones (core/connection-guard.ts) */
  guard?: (server: Server) => void;
  resolveImei: ResolveImei;
  /** the bridge's ingest: resolves once the records are durably queued */
  ingest: (msg: IncomingMessage) => Promise<IngestOutcome>;
  /** counts a refusal, or (undefined) a packet acknowledged */
  count: (refusal: TeltonikaRefusal | undefined) => void;
  /** Codec 12 downlink (teltonika-commands.ts) */
  commands: Pick<TeltonikaCommands, "attach" | "respond">;
  log: Logger;
  /** refused IMEIs are logged at warn once per this interval, with their count (default a minute) */
  unknownImeiLogIntervalMs?: number;
}

export interface TeltonikaListener {
  port: number;
  /** stops accepting; open connections stay until `closeConnections` */
  close(): void;
  closeConnections(): void;
}

// FMB devices with a "ping timeout" set keep the link open with this single byte between packets
const PING = 0xff;
// the IMEI's two-byte length: an IMEI is 15 digits, IMEI_RE allows 8-20
const MAX_IMEI_BYTES = 20;
// codec id + the two record counts: the smallest data field
const MIN_DATA_BYTES = 3;
const CRC_BYTES = 4;

/**
 * Teltonika devices over TCP (Teltonika's published "Teltonika Data Sending Protocols" document):
 *   1. handshake: two-byte length + the IMEI in ASCII; 0x01 if a vehicle is registered with it
 *      (bridge/imei-resolver.ts), else 0x00 and the connection is closed;
 *   2. AVL packets, one at a time: a CRC mismatch gets no reply (the device resends); a packet
 *      that checks is handed to the bridge as a `{imei}/data` message, through the same adapter,
 *      rejects and dead letter as over MQTT, and its record count (4 bytes) goes back only once
 *      its records are queued, the guarantee PUBACK gives over MQTT. Reading stops meanwhile.
 * Codec 12 packets carry commands to the device and its responses back (teltonika-commands.ts).
 * A packet arrives in as many TCP segments as it likes. A stream that is not an AVL packet, or
 * one declaring more than maxPayloadBytes, closes that connection only; so does silence for
 * idleTimeoutMs. Ingest failing (hold cap reached, bridge closing) closes it without the reply,
 * so the device sends the packet again: the message id is derived from the IMEI and the packet,
 * and the fixes' primary key stores the resent records once.
 */
export async function listenTeltonika(deps: TeltonikaTcpDeps): Promise<TeltonikaListener> {
  const sockets = new Set<Socket>();
  const unknownImei = unknownImeiLog(deps.log, deps.unknownImeiLogIntervalMs ?? 60_000);
  const server = createServer((socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
    handleConnection(socket, deps, unknownImei);
  });
  deps.guard?.(server);
  const port = await new Promise<number>((resolve, reject) => {
    server.once("error", reject);
    server.listen(deps.port, deps.host, () => {
      server.off("error", reject);
      const addr = server.address();
      resolve(typeof addr === "object" && addr ? addr.port : deps.port);
    });
  });
  return {
    port,
    close: () => server.close(),
    closeConnections() {
      for (const s of sockets) s.destroy();
    },
  };
}

/**
 * A device with an unregistered IMEI retries every few seconds, and anyone can send an IMEI: one
 * warn line per interval, with the number refused since the last one (the counter
 * teltonika_tcp_refused{reason="unknown_imei"} has every one), the others at debug.
 */
function unknownImeiLog(log: Logger, intervalMs: number): (peer: string, imei: string) => void {
  let warnedAt = Number.NEGATIVE_INFINITY;
  let since = 0;
  return (peer, imei) => {
    since++;
    const now = Date.now();
    if (now - warnedAt < intervalMs) {
      log.debug({ peer, imei }, "teltonika IMEI not registered to a vehicle: refused");
      return;
    }
    log.warn(
      { peer, imei, refused: since, intervalS: intervalMs / 1000 },
      "teltonika IMEI not registered to a vehicle: refused (one line per interval; refused counts them)",
    );
    warnedAt = now;
    since = 0;
  };
}

function handleConnection(
  socket: Socket,
  deps: TeltonikaTcpDeps,
  unknownImei: (peer: string, imei: string) => void,
): void {
  const { log } = deps;
  const peer = `${socket.remoteAddress}:${socket.remotePort}`;
  let buf = Buffer.alloc(0);
  let device: { imei: string; vehicleId: string } | undefined;
  let busy = false;
  let detach: (() => void) | undefined;
  socket.on("close", () => detach?.());

  socket.setNoDelay(true);
  // silence before the handshake is not a device keeping its link: the short timeout until then
  socket.setTimeout(Math.min(deps.handshakeTimeoutMs, deps.idleTimeoutMs), () => {
    log.debug({ peer, imei: device?.imei }, "teltonika connection idle: closed");
    socket.destroy();
  });
  socket.on("error", (err) => log.debug({ err, peer }, "teltonika socket error"));
  socket.on("data", (chunk) => {
    buf = buf.length === 0 ? chunk : Buffer.concat([buf, chunk]);
    step();
  });

  const refuse = (reason: TeltonikaRefusal, detail: string) => {
    deps.count(reason);
    log.warn({ peer, imei: device?.imei, reason, detail }, "teltonika connection closed");
    buf = Buffer.alloc(0);
    socket.destroy();
  };

  /** Runs one complete handshake or packet out of the buffer, if it is all in. */
  function step(): void {
    if (busy || socket.destroyed) return;
    if (!device) {
      handshake();
      return;
    }
    while (buf[0] === PING) buf = buf.subarray(1);
    if (buf.length === 0) return;
    const problem = framingProblem(buf, deps.maxPayloadBytes);
    if (problem) {
      refuse(problem.reason, problem.detail);
      return;
    }
    const total = declaredPacketLength(buf);
    if (total === undefined || buf.length < total) return;
    const packet = Buffer.from(buf.subarray(0, total));
    buf = buf.subarray(total);
    const data = packet.subarray(HEADER_BYTES, total - CRC_BYTES);
    const crc = packet.readUInt32BE(total - CRC_BYTES);
    if (crc !== crc16Ibm(data)) {
      deps.count("crc");
      log.warn(
        { peer, imei: device.imei, crc },
        "teltonika packet CRC mismatch: no reply, the device resends",
      );
      step();
      return;
    }
    if (packet[HEADER_BYTES] === CODEC_12) {
      const c12 = decodeCodec12(packet);
      if (c12?.type === RESPONSE) deps.commands.respond(device.vehicleId, c12.text);
      else log.warn({ peer, imei: device.imei }, "codec 12 packet that is not a response: ignored");
      step();
      return;
    }
    void ingest(packet, device);
  }

  function handshake(): void {
    if (buf.length < 2) return;
    const len = buf.readUInt16BE(0);
    if (len === 0 || len > MAX_IMEI_BYTES) {
      refuse("bad_stream", `IMEI length ${len}`);
      return;
    }
    if (buf.length < 2 + len) return;
    const imei = buf.subarray(2, 2 + len).toString("latin1");
    buf = buf.subarray(2 + len);
    if (!IMEI_RE.test(imei)) {
      refuse("bad_stream", "IMEI is not 8-20 digits");
      return;
    }
    busy = true;
    socket.pause();
    deps.resolveImei(imei).then(
      (vehicleId) => {
        busy = false;
        if (socket.destroyed) return;
        if (vehicleId === undefined) {
          deps.count("unknown_imei");
          unknownImei(peer, imei);
          // paused, the socket would never read the device's FIN: closed once the 0x00 is out
          socket.end(Buffer.from([0x00]), () => socket.destroy());
          return;
        }
        device = { imei, vehicleId };
        socket.setTimeout(deps.idleTimeoutMs);
        log.debug({ peer, imei, vehicleId }, "teltonika device connected");
        socket.write(Buffer.from([0x01]));
        detach = deps.commands.attach(vehicleId, {
          send: (packet) => socket.write(packet),
          close: () => socket.destroy(),
        });
        socket.resume();
        step();
      },
      (err: unknown) => {
        log.error({ err, peer, imei }, "teltonika IMEI lookup failed: closed, the device reconnects");
        socket.destroy();
      },
    );
  }

  async function ingest(packet: Buffer, dev: { imei: string; vehicleId: string }): Promise<void> {
    busy = true;
    socket.pause();
    const records = packet[HEADER_BYTES + 1] as number;
    const firstTs = packet.length >= HEADER_BYTES + 10 ? packet.readBigUInt64BE(HEADER_BYTES + 2) : 0n;
    const crc = packet.readUInt32BE(packet.length - CRC_BYTES);
    try {
      await deps.ingest({
        vehicleId: dev.vehicleId,
        imei: dev.imei,
        topic: topics.teltonika(dev.imei),
        kind: "teltonika",
        payload: packet,
        receivedAt: Date.now(),
        // the same packet resent after a lost reply carries the same id
        messageId: `tlt-${dev.imei}-${firstTs.toString(36)}-${crc.toString(16)}-${records}`,
      });
    } catch (err) {
      log.warn(
        { err, imei: dev.imei },
        "teltonika packet not queued: closed without reply, the device resends",
      );
      socket.destroy();
      return;
    }
    if (socket.destroyed) return;
    const ack = Buffer.alloc(4);
    ack.writeUInt32BE(records);
    socket.write(ack);
    deps.count(undefined);
    busy = false;
    socket.resume();
    step();
  }
}

/**
 * What is wrong with the packet at the start of `buf` as far as its bytes have come, judged
 * before the rest arrives: the preamble byte by byte, then the declared length, then the codec id.
 */
function framingProblem(
  buf: Buffer,
  maxPayloadBytes: number,
): { reason: TeltonikaRefusal; detail: string } | undefined {
  if (buf.subarray(0, 4).some((b) => b !== 0))
    return { reason: "bad_stream", detail: "not an AVL packet preamble" };
  const total = declaredPacketLength(buf);
  if (total === undefined) return undefined;
  const dataBytes = total - HEADER_BYTES - CRC_BYTES;
  if (dataBytes > maxPayloadBytes)
    return { reason: "oversized", detail: `data length ${dataBytes} > MAX_PAYLOAD_BYTES ${maxPayloadBytes}` };
  if (dataBytes < MIN_DATA_BYTES) return { reason: "bad_stream", detail: `data length ${dataBytes}` };
  const codec = buf[HEADER_BYTES];
  if (codec !== undefined && codec !== CODEC_8 && codec !== CODEC_8E && codec !== CODEC_12)
    return { reason: "bad_stream", detail: `codec id ${codec} is not Codec 8, 8E or 12` };
  return undefined;
}
