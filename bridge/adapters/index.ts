import type { IngestKind } from "../../core/topics.ts";
import { adaptNativeBatch, adaptNativeOne } from "./native.ts";
import { adaptOsmAnd } from "./osmand.ts";
import { adaptOwnTracks } from "./owntracks.ts";
import { adaptTeltonika } from "./teltonika.ts";
import type { Adapter } from "./types.ts";

/**
 * What a message's payload is read as: an MQTT ingest topic's kind (core/topics.ts decides it),
 * or `osmand`, which arrives over HTTP only and names no topic a device could publish on (the
 * listener, api/osmand-listener.ts, sets the kind).
 */
export type AdapterKind = IngestKind | "osmand";

/** The payload adapter for each kind. */
export const adapters: Record<AdapterKind, Adapter> = {
  native: adaptNativeOne,
  "native-batch": adaptNativeBatch,
  owntracks: adaptOwnTracks,
  teltonika: adaptTeltonika,
  osmand: adaptOsmAnd,
};
