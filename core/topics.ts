/**
 * MQTT topic contract (docs/architecture.md, "Contracts"). Vehicle ids are `[A-Za-z0-9_-]{1,64}`, so a
 * topic level can never smuggle a wildcard or a separator into another vehicle's space.
 */
export const VEHICLE_ID_RE = /^[A-Za-z0-9_-]{1,64}$/;

/** An IMEI as registered on a vehicle (sql/001_core.sql checks the same). */
export const IMEI_RE = /^[0-9]{8,20}$/;

export function isVehicleId(id: string): boolean {
  return VEHICLE_ID_RE.test(id);
}

export const topics = {
  location: (vehicleId: string) => `fleet/${vehicleId}/location`,
  locations: (vehicleId: string) => `fleet/${vehicleId}/locations`,
  errors: (vehicleId: string) => `fleet/${vehicleId}/errors`,
  events: (vehicleId: string) => `fleet/${vehicleId}/events`,
  commands: (vehicleId: string) => `fleet/${vehicleId}/commands`,
  commandAck: (vehicleId: string) => `fleet/${vehicleId}/commands/ack`,
  owntracks: (vehicleId: string, device: string) => `owntracks/${vehicleId}/${device}`,
  teltonika: (imei: string) => `${imei}/data`,
  /**
   * What the dead letter names an OsmAnd HTTP request by (api/osmand-listener.ts): no MQTT topic,
   * no device can publish on it (parseIngestTopic does not know it)
   */
  osmand: (vehicleId: string) => `osmand/${vehicleId}`,
};

/** Device → platform fix topics, by the payload format they carry. */
export type IngestKind = "native" | "native-batch" | "owntracks" | "teltonika";

/** An ingest topic that names its vehicle (every kind but Teltonika's, which names an IMEI). */
export interface IngestTopic {
  kind: Exclude<IngestKind, "teltonika">;
  /** the vehicle the topic names */
  vehicleId: string;
}

/**
 * The OwnTracks app publishes its location on `owntracks/{user}/{device}` and other message
 * types on sub-topics (booklet, "Topics"). They are accepted, so that a transition or a waypoint
 * does not cost the phone its connection (MQTT 3.1.1 can refuse a publish only by disconnecting);
 * the adapter ignores what is not a location.
 */
const OWNTRACKS_SUBTOPICS = new Set([
  "event",
  "waypoint",
  "waypoints",
  "status",
  "step",
  "beacon",
  "dump",
  "info",
]);

/** An OwnTracks device name: one topic level, no wildcard. */
const OWNTRACKS_DEVICE_RE = /^[^/+#]{1,64}$/;

/** Parses an ingest topic that names its vehicle; undefined for anything else. */
export function parseIngestTopic(topic: string): IngestTopic | undefined {
  const parts = topic.split("/");
  const vehicleId = parts[1];
  if (vehicleId === undefined || !isVehicleId(vehicleId)) return undefined;
  if (parts.length === 3 && parts[0] === "fleet") {
    if (parts[2] === "location") return { kind: "native", vehicleId };
    if (parts[2] === "locations") return { kind: "native-batch", vehicleId };
    return undefined;
  }
  if (parts[0] === "owntracks" && OWNTRACKS_DEVICE_RE.test(parts[2] ?? "")) {
    if (parts.length === 3 || (parts.length === 4 && OWNTRACKS_SUBTOPICS.has(parts[3] as string)))
      return { kind: "owntracks", vehicleId };
  }
  return undefined;
}

/** `{imei}/data`, the Teltonika Codec JSON topic: the IMEI, or undefined. */
export function parseImeiTopic(topic: string): string | undefined {
  const slash = topic.indexOf("/");
  if (slash < 0 || topic.slice(slash) !== "/data") return undefined;
  const imei = topic.slice(0, slash);
  return IMEI_RE.test(imei) ? imei : undefined;
}

/** The authenticated device a topic is checked against. */
export interface TopicOwner {
  vehicleId: string;
  /** the IMEI registered on the vehicle, if any */
  imei?: string | null | undefined;
}

/**
 * The ingest kind of `topic` when it is an ingest topic of `owner`; undefined for any other
 * topic, including another vehicle's. The broker classifies each publish once and passes the
 * kind on; the bridge asks only for messages that arrive without one (HTTP ingest).
 */
export function ownIngestKind(topic: string, owner: TopicOwner): IngestKind | undefined {
  const named = parseIngestTopic(topic);
  if (named) return named.vehicleId === owner.vehicleId ? named.kind : undefined;
  const imei = parseImeiTopic(topic);
  return imei !== undefined && imei === owner.imei ? "teltonika" : undefined;
}

/**
 * Topics (or filters) naming the fleet's namespace: `fleet/…`, OwnTracks' `owntracks/…`, an IMEI's
 * `{imei}/…`. Anonymous clients (MQTT_ALLOW_ANONYMOUS, development) may use everything else, as on
 * a plain broker; a filter starting with a wildcard also matches fleet topics, so the broker hides
 * those from anonymous subscribers when it forwards (broker/hooks/authorize-forward.ts).
 */
export function isFleetNamespace(topicOrFilter: string): boolean {
  const first = topicOrFilter.split("/", 1)[0] as string;
  return first === "fleet" || first === "owntracks" || IMEI_RE.test(first);
}

/** Platform → device topics a device may subscribe to: its own errors, events and commands. */
export function isOwnDownlinkTopic(topic: string, vehicleId: string): boolean {
  return (
    topic === topics.errors(vehicleId) ||
    topic === topics.events(vehicleId) ||
    topic === topics.commands(vehicleId)
  );
}
