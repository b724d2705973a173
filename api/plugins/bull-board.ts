import { createBullBoard } from "@bull-board/api";
import { BullMQAdapter } from "@bull-board/api/bullMQAdapter";
import { FastifyAdapter } from "@bull-board/fastify";
import type { Queue } from "bullmq";
import type { FastifyInstance } from "fastify";

export const BULL_BOARD_PATH = "/admin/queues";

/**
 * Bull Board at /admin/queues. Its routes declare no `access`, so the auth hook treats them as
 * admin-only (session cookie or Bearer), which is what a board that can retry and delete jobs needs.
 */
export async function registerBullBoard(app: FastifyInstance, queues: Queue[]): Promise<void> {
  const serverAdapter = new FastifyAdapter();
  serverAdapter.setBasePath(BULL_BOARD_PATH);
  createBullBoard({ queues: queues.map((q) => new BullMQAdapter(q)), serverAdapter });
  await app.register(serverAdapter.registerPlugin(), { prefix: BULL_BOARD_PATH });
}
