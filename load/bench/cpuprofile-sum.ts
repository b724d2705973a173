import { readFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { UsageError, usageOr, wholeNumber } from "./args.ts";

/** The parts of V8's .cpuprofile (node --cpu-prof) this reads. */
export interface CpuProfile {
  nodes: { id: number; callFrame: { functionName: string; url: string; lineNumber: number } }[];
  startTime: number;
  samples: number[];
  timeDeltas: number[];
}

export interface ProfileSums {
  /** µs of the thread's time in the window not spent idle (waiting in the event loop) */
  busyUs: number;
  windowUs: number;
  /** self time by function (`name file:line`), µs */
  byFunction: Map<string, number>;
  /** self time by where the code lives: a package, a repository folder, node: internals, GC … */
  byArea: Map<string, number>;
}

/** `node:internal/…` → `node:internal`, `…/node_modules/@x/y/…` → `@x/y`, a repository file → its folder. */
export function areaOf(url: string, name: string): string {
  if (!url) return name.startsWith("(") ? name : "(native)";
  const nm = url.lastIndexOf("/node_modules/");
  if (nm >= 0) {
    const parts = url.slice(nm + 14).split("/");
    return parts[0]?.startsWith("@") ? `${parts[0]}/${parts[1]}` : (parts[0] ?? url);
  }
  if (url.startsWith("node:")) return url.split("/")[0] === "node:internal" ? "node:internal" : url;
  const m = /\/(api|broker|bridge|core|worker|load)\/(.+)$/.exec(url);
  return m ? `${m[1]}/${m[2]}` : url;
}

/**
 * Sums a profile's samples by function and by area, self time only, keeping the samples taken in
 * [fromUs, toUs] (V8's monotonic clock, the same as process.hrtime: the window of a load step).
 */
export function sumProfile(p: CpuProfile, fromUs = -Infinity, toUs = Infinity): ProfileSums {
  const frames = new Map(p.nodes.map((n) => [n.id, n.callFrame]));
  const byFunction = new Map<string, number>();
  const byArea = new Map<string, number>();
  let busyUs = 0;
  let t = p.startTime;
  let first = Infinity;
  let last = -Infinity;
  for (let i = 0; i < p.samples.length; i++) {
    const dt = p.timeDeltas[i] ?? 0;
    t += dt;
    if (t < fromUs || t > toUs) continue;
    first = Math.min(first, t);
    last = Math.max(last, t);
    const f = frames.get(p.samples[i] as number);
    if (!f || f.functionName === "(idle)") continue;
    // the sample's interval is the time until the next sample
    const us = p.timeDeltas[i + 1] ?? dt;
    busyUs += us;
    const file = f.url
      ? ` ${f.url.replace(/^.*\/(node_modules|s18-profile)\//, "")}:${f.lineNumber + 1}`
      : "";
    const fn = `${f.functionName || "(anonymous)"}${file}`;
    byFunction.set(fn, (byFunction.get(fn) ?? 0) + us);
    const area = areaOf(f.url, f.functionName);
    byArea.set(area, (byArea.get(area) ?? 0) + us);
  }
  return { busyUs, windowUs: last - first, byFunction, byArea };
}

/** The top entries of a sum as lines of `µs per message  share  name`. */
export function table(sums: Map<string, number>, perMessages: number, top: number): string[] {
  const total = [...sums.values()].reduce((a, b) => a + b, 0);
  return [...sums.entries()]
    .sort((a, b) => b[1] - a[1])
    .slice(0, top)
    .map(
      ([k, us]) =>
        `${(us / perMessages).toFixed(2).padStart(8)} µs ${((100 * us) / total).toFixed(1).padStart(5)} %  ${k}`,
    );
}

if (import.meta.url === `file://${process.argv[1]}`) {
  // `node --import tsx load/bench/cpuprofile-sum.ts FILE.cpuprofile --messages N [--from µs --to µs] [--top 40]`
  const { values, positionals } = usageOr(() =>
    parseArgs({
      allowPositionals: true,
      options: {
        messages: { type: "string", default: "1" },
        from: { type: "string" },
        to: { type: "string" },
        top: { type: "string", default: "40" },
      },
    }),
  );
  const { n, from, to, top } = usageOr(() => {
    const most = Number.MAX_SAFE_INTEGER;
    const n = wholeNumber("messages", values.messages as string, 1, most);
    const top = wholeNumber("top", values.top as string, 1, 10_000);
    // µs of V8's monotonic clock, as profile.ts prints them
    const from = values.from === undefined ? -Infinity : wholeNumber("from", values.from, 0, most);
    const to = values.to === undefined ? Infinity : wholeNumber("to", values.to, 0, most);
    if (to < from) throw new UsageError(`--to wants a time after --from (${from}), got '${values.to}'`);
    if (positionals.length === 0) throw new UsageError("give one or more .cpuprofile files to sum");
    return { n, from, to, top };
  });
  for (const file of positionals) {
    const s = sumProfile(JSON.parse(readFileSync(file, "utf8")) as CpuProfile, from, to);
    console.log(`${file}: busy ${(s.busyUs / n).toFixed(1)} µs per message over ${n} messages`);
    console.log(table(s.byArea, n, 25).join("\n"));
    console.log(table(s.byFunction, n, top).join("\n"));
  }
}
