import type { IngestKind } from "../../core/topics.ts";
import { adaptNativeBatch, adaptNativeOne } from "./native.ts";
import { adaptOwnTracks } from "./owntracks.ts";
import { adaptTeltonika } from "./teltonika.ts";
import type { Adapter } from "./types.ts";

/** The payload adapter for each ingest topic kind (core/topics.ts decides the kind). */
export const adapters: Record<IngestKind, Adapter> = {
  native: adaptNativeOne,
  "native-batch": adaptNativeBatch,
  owntracks: adaptOwnTracks,
  teltonika: adaptTeltonika,
};
