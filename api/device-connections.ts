import { z } from "zod";
import { clientIdFor } from "../core/client-id.ts";
import type { Config } from "../core/config.ts";
import { topics } from "../core/topics.ts";

export const deviceConnectionSchema = z.object({
  kind: z.enum(["mqtt", "mqtt-tls", "mqtt-ws", "owntracks", "owntracks-http", "teltonika", "osmand"]),
  label: z.string(),
  url: z.string().describe("where the device connects"),
  settings: z
    .array(z.object({ name: z.string(), value: z.string() }))
    .describe("what to type into the device or app, besides the secret"),
});
export type DeviceConnection = z.infer<typeof deviceConnectionSchema>;

export type ConnectionConfig = Pick<
  Config,
  "MQTT_PORT" | "MQTT_WS_PORT" | "MQTT_TLS_PORT" | "TELTONIKA_TCP_PORT" | "OSMAND_PORT"
>;

/** A host name as a device can type it; anything else (a spoofed Host header) is shown as a placeholder. */
export function deviceHost(host: string): string {
  return /^[A-Za-z0-9.-]{1,253}$/.test(host) ? host : "<host>";
}

/**
 * How a device connects, for each listener that is enabled: native MQTT (TCP, TLS, WebSocket),
 * OwnTracks (MQTT and HTTP mode), Teltonika (TCP, by IMEI) and Traccar Client (OsmAnd, by device
 * key: docs/devices.md). The host is the one the admin reached the API on; the password and the
 * device key are in the credentials beside it, never repeated here.
 */
export function deviceConnections(
  config: ConnectionConfig,
  req: { hostname: string; protocol: string; host: string },
  vehicle: { id: string; imei: string | null },
): DeviceConnection[] {
  const host = deviceHost(req.hostname);
  const { id } = vehicle;
  const mqtt = [
    { name: "Username", value: id },
    { name: "Client ID", value: `${id} (or ${clientIdFor(id, "<suffix>")})` },
    { name: "Topic", value: topics.location(id) },
    { name: "Commands", value: `${topics.commands(id)} (answers on ${topics.commandAck(id)})` },
  ];
  const out: DeviceConnection[] = [
    { kind: "mqtt", label: "MQTT", url: `mqtt://${host}:${config.MQTT_PORT}`, settings: mqtt },
  ];
  if (config.MQTT_TLS_PORT)
    out.push({
      kind: "mqtt-tls",
      label: "MQTT over TLS",
      url: `mqtts://${host}:${config.MQTT_TLS_PORT}`,
      settings: mqtt,
    });
  if (config.MQTT_WS_PORT)
    out.push({
      kind: "mqtt-ws",
      label: "MQTT over WebSocket",
      url: `ws://${host}:${config.MQTT_WS_PORT}/mqtt`,
      settings: mqtt,
    });
  out.push({
    kind: "owntracks",
    label: "OwnTracks (MQTT mode)",
    url: `${host}:${config.MQTT_TLS_PORT ?? config.MQTT_PORT}`,
    settings: [
      { name: "TLS", value: config.MQTT_TLS_PORT ? "on" : "off" },
      { name: "UserID", value: id },
      { name: "DeviceID", value: "phone" },
      { name: "Client ID", value: clientIdFor(id, "phone") },
      { name: "Topic", value: topics.owntracks(id, "phone") },
    ],
  });
  out.push({
    kind: "owntracks-http",
    label: "OwnTracks (HTTP mode)",
    url: `${req.protocol}://${/^[A-Za-z0-9.-]{1,253}(:\d{1,5})?$/.test(req.host) ? req.host : "<host>"}/api/owntracks`,
    settings: [{ name: "Username", value: id }],
  });
  if (config.TELTONIKA_TCP_PORT)
    out.push({
      kind: "teltonika",
      label: "Teltonika (TCP, Codec 8/8E)",
      url: `${host}:${config.TELTONIKA_TCP_PORT}`,
      settings: [
        {
          name: "IMEI",
          value: vehicle.imei ?? "none registered: set the vehicle's IMEI, the device identifies by it",
        },
      ],
    });
  if (config.OSMAND_PORT)
    out.push({
      kind: "osmand",
      label: "Traccar Client (OsmAnd)",
      url: `http://${host}:${config.OSMAND_PORT}`,
      settings: [
        {
          name: "Device identifier",
          value: "the device key (credentials: deviceKey, shown once): the app sends no password",
        },
        { name: "Offline buffering", value: "on" },
      ],
    });
  return out;
}
