import type pg from "pg";
import type { Reject } from "../../core/reject-reasons.ts";
import { sqlArray } from "../../core/sql-array.ts";

/** The batch's rejects into the dead letter; (batch_id, seq) keeps a retried batch idempotent. */
const INSERT_REJECTS = `
INSERT INTO rejected_messages (vehicle_id, topic, payload, reason, detail, message_id, received_at, batch_id, seq)
SELECT u.v, u.topic, u.payload, u.reason, u.detail, u.mid, timestamptz 'epoch' + u.rcv * interval '1 millisecond', $8, u.seq
FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::bigint[])
  WITH ORDINALITY AS u(v, topic, payload, reason, detail, mid, rcv, seq)
ON CONFLICT (batch_id, seq) DO NOTHING`;

export async function insertRejects(
  client: pg.PoolClient,
  batchId: string,
  rejects: readonly Reject[],
): Promise<number> {
  if (rejects.length === 0) return 0;
  const r = await client.query({
    name: "insert-rejects",
    text: INSERT_REJECTS,
    values: [
      sqlArray(rejects.map((x) => x.vehicleId)),
      sqlArray(rejects.map((x) => x.topic)),
      sqlArray(rejects.map((x) => x.payload)),
      sqlArray(rejects.map((x) => x.reason)),
      sqlArray(rejects.map((x) => x.detail)),
      sqlArray(rejects.map((x) => x.messageId)),
      sqlArray(rejects.map((x) => x.receivedAt)),
      batchId,
    ],
  });
  return r.rowCount ?? 0;
}
