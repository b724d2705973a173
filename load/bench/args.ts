/**
 * The bench tools' command-line values checked before anything starts: a typo gets a usage error
 * naming the option, not a run that reports nonsense (or writes it into BENCHMARKS.md).
 */
export class UsageError extends Error {
  override name = "UsageError";
}

/** A whole number from `min` to `max`, or a UsageError naming `--option`. */
export function wholeNumber(option: string, text: string, min = 1, max = 10_000_000): number {
  return whole(`--${option}`, text, min, max);
}

function whole(name: string, text: string, min: number, max: number, why = ""): number {
  const n = /^\d+$/.test(text.trim()) ? Number(text) : Number.NaN;
  if (!Number.isSafeInteger(n) || n < min || n > max)
    throw new UsageError(`${name} wants a whole number from ${min} to ${max}${why}, got '${text}'`);
  return n;
}

/** A comma-separated list of whole numbers (e.g. --rates 3000,6000). */
export function wholeNumbers(option: string, text: string, min = 1, max = 10_000_000): number[] {
  const items = text.split(",");
  if (items.some((s) => s.trim() === ""))
    throw new UsageError(`--${option} wants numbers separated by commas, got '${text}'`);
  return items.map((s) => wholeNumber(option, s, min, max));
}

/**
 * LOGITRACK_BENCH_PORT_BASE (default 21883): a tool's systems under test listen on ports up to
 * `span` above it, all of them at most 65535.
 */
export function portBase(span: number, env: NodeJS.ProcessEnv = process.env): number {
  const text = env.LOGITRACK_BENCH_PORT_BASE;
  if (text === undefined) return 21883;
  return whole("LOGITRACK_BENCH_PORT_BASE", text, 1, 65535 - span, ` (ports up to ${span} above it)`);
}

/** The names of `--only`, each one of `known`. */
export function sections(text: string, known: readonly string[]): string[] {
  const names = text.split(",").map((s) => s.trim());
  const unknown = names.filter((s) => !known.includes(s));
  if (unknown.length > 0 || names.length === 0)
    throw new UsageError(
      `--only names sections of ${known.join(", ")}; unknown: ${unknown.join(", ") || "(none given)"}`,
    );
  return names;
}

/** `parse()`, or on a UsageError its message on stderr and exit code 2, before anything started. */
export function usageOr<T>(parse: () => T): T {
  try {
    return parse();
  } catch (err) {
    // node:util parseArgs' own refusals (an unknown option, a missing value) count too
    const code = (err as { code?: unknown }).code;
    if (!(err instanceof UsageError) && !(typeof code === "string" && code.startsWith("ERR_PARSE_ARGS")))
      throw err;
    process.stderr.write(`${(err as Error).message}\n`);
    process.exit(2);
  }
}

/**
 * Where a bench run's results go: `out` when given; nowhere else (undefined: BENCHMARKS.md,
 * results.json and the chart) for a full run; `side` for a quick, partial (--only), repeated or
 * reconfigured (--env) run, so that it cannot replace the published full run.
 */
export function benchOutput(
  run: { quick: boolean; only?: unknown; repeat?: unknown; env?: unknown; out?: string | undefined },
  side: string,
): string | undefined {
  if (run.out !== undefined) return run.out;
  const partial = run.quick || run.only !== undefined || run.repeat !== undefined || run.env !== undefined;
  return partial ? side : undefined;
}
