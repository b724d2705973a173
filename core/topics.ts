/**
 * MQTT topic contract (ARCHITECTURE.md, "Topics"). Vehicle ids are `[A-Za-z0-9_-]{1,64}`, so a
 * topic level can never smuggle a wildcard or a separator into another vehicle's space.
 */
export const VEHICLE_ID_RE = /^[A-Za-z0-9_-]{1,64}$/;

export function isVehicleId(id: string): boolean {
  return VEHICLE_ID_RE.test(id);
}

export const topics = {
  location: (vehicleId: string) => `fleet/${vehicleId}/location`,
  locations: (vehicleId: string) => `fleet/${vehicleId}/locations`,
  errors: (vehicleId: string) => `fleet/${vehicleId}/errors`,
  events: (vehicleId: string) => `fleet/${vehicleId}/events`,
  commands: (vehicleId: string) => `fleet/${vehicleId}/commands`,
};

/** Device → platform topics, by the payload format they carry. */
export type IngestKind = "native" | "native-batch";

export interface IngestTopic {
  kind: IngestKind;
  /** the vehicle the topic names */
  vehicleId: string;
}

/** Parses an ingest topic; undefined for anything that is not one. */
export function parseIngestTopic(topic: string): IngestTopic | undefined {
  const parts = topic.split("/");
  if (parts.length === 3 && parts[0] === "fleet") {
    const vehicleId = parts[1] as string;
    if (!isVehicleId(vehicleId)) return undefined;
    if (parts[2] === "location") return { kind: "native", vehicleId };
    if (parts[2] === "locations") return { kind: "native-batch", vehicleId };
  }
  return undefined;
}

/** Platform → device topics a device may subscribe to: its own errors, events and commands. */
export function isOwnDownlinkTopic(topic: string, vehicleId: string): boolean {
  return (
    topic === topics.errors(vehicleId) ||
    topic === topics.events(vehicleId) ||
    topic === topics.commands(vehicleId)
  );
}
