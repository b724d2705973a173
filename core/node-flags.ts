/**
 * Node's own flags per process, for whatever launches them: scripts/start.ts (`npm start`), the
 * image's entry point (scripts/docker-entrypoint.sh names them too; test/unit/node-flags.test.ts
 * holds the two alike) and the bench (load/bench/suts.ts).
 *
 * The worker: 32 MB semi-spaces (V8's default is 16 MB). It allocates fast and briefly, each batch's
 * rows, machine states and statement parameters dead by the next; with the default young generation
 * its scavenges took 20 % of its main thread with 100 alert rules and 16 % without, and objects a
 * scavenge found still alive were copied, some promoted to the old generation and collected there.
 * Twice the room cut the garbage collector's time per stored fix by a quarter for an RSS a few tens
 * of MB larger (BENCHMARKS.md, "The fleet parks between the alerts pairs' steps").
 */
export const nodeFlags = {
  broker: [],
  worker: ["--max-semi-space-size=32"],
  api: [],
} as const satisfies Record<string, readonly string[]>;

export type NodeRole = keyof typeof nodeFlags;

/** The flags of the process whose entry is `<role>/main.ts`; none for any other entry. */
export function nodeFlagsOf(entry: string): readonly string[] {
  const role = entry.split("/")[0] as string;
  return Object.hasOwn(nodeFlags, role) ? nodeFlags[role as NodeRole] : [];
}
