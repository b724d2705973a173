/**
 * Node's own flags per process, for whatever launches them: scripts/start.ts (`npm start`), the
 * image's entry point (scripts/docker-entrypoint.sh names them too; test/unit/node-flags.test.ts
 * holds the two alike) and the bench (load/bench/suts.ts).
 *
 * The worker: 32 MB semi-spaces (V8's default is 16 MB). It allocates fast and briefly, each batch's
 * rows, machine states and statement parameters dead by the next; twice the room means fewer
 * scavenges and fewer objects copied (measured, beside an earlier run where it gained nothing:
 * BENCHMARKS.md, "The fleet parks between the alerts pairs' steps").
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
