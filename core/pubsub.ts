import type { z } from "zod";
import type { Logger } from "./logger.ts";
import { channelOf, type Redis } from "./redis.ts";

/**
 * Subscribes `subscriber` (a connection in subscriber mode, which may carry other channels too)
 * to one JSON channel: each message is checked against `schema`, a malformed one is logged and
 * dropped. Returns an unsubscribe.
 */
export async function subscribeJson<T>(
  subscriber: Redis,
  name: string,
  schema: z.ZodType<T>,
  log: Logger,
  handle: (msg: T) => void,
): Promise<() => Promise<void>> {
  const channel = channelOf(subscriber, name);
  const onMessage = (from: string, raw: string) => {
    if (from !== channel) return;
    const parsed = schema.safeParse(safeParse(raw));
    if (parsed.success) handle(parsed.data);
    else log.warn({ raw, channel: name }, "ignored malformed message");
  };
  subscriber.on("message", onMessage);
  await subscriber.subscribe(channel);
  return async () => {
    subscriber.off("message", onMessage);
    await subscriber.unsubscribe(channel).catch(() => {});
  };
}

function safeParse(raw: string): unknown {
  try {
    return JSON.parse(raw);
  } catch {
    return undefined;
  }
}
