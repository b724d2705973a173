import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { loadConfigOrExit, simulatorConfigSchema } from "../core/config.ts";
import { withLocalServices } from "../core/local-services.ts";
import { parseCliOptions, type SimulatorOptions, USAGE, UsageError } from "./cli-options.ts";
import { type DatabaseTarget, ensureCredentials, vehicleIds } from "./credentials.ts";
import { type FleetStats, startFleet } from "./fleet.ts";
import { type Progress, type StatusLine, startStatusLine } from "./status-line.ts";

/**
 * `npm run simulate -- --trucks 500 [--protocol teltonika-tcp]`: registers the trucks (once), then
 * drives them (MQTT, Teltonika TCP or OsmAnd HTTP) with a live status line until --duration /
 * --fixes is reached or Ctrl-C.
 */
const say = (line: string) => process.stderr.write(`${line}\n`);

const config = loadConfigOrExit(simulatorConfigSchema);
let opts: SimulatorOptions;
try {
  opts = parseCliOptions(process.argv.slice(2), config);
} catch (err) {
  if (!(err instanceof UsageError)) throw err;
  say(`${err.message}\n\n${USAGE}`);
  process.exit(2);
}
if (opts.help) {
  console.log(USAGE);
  process.exit(0);
}

const vehicles = await ensureCredentials({
  file: opts.credentialsFile,
  ids: vehicleIds(opts.prefix, opts.trucks),
  api: { url: opts.api, token: opts.token ?? localAdminToken() },
  database: () => databaseTarget(opts.url),
  fresh: opts.register,
  needs: opts.protocol === "osmand" ? ["deviceKey"] : opts.protocol.startsWith("teltonika") ? ["imei"] : [],
  say,
});
if (opts.registerOnly) {
  say(`credentials for ${vehicles.length} trucks in ${opts.credentialsFile}`);
  process.exit(0);
}

say(
  `${opts.trucks} trucks → ${opts.url} (${opts.protocol}) · ${opts.rate} fix/s each (${(opts.trucks * opts.rate).toFixed(1)}/s) · ` +
    `QoS ${opts.qos} · seed ${opts.seed}` +
    (opts.coverageGaps ? " · coverage gaps" : "") +
    (opts.duplicates ? " · duplicates" : "") +
    (opts.owntracks ? ` · ${opts.owntracks} OwnTracks` : ""),
);

const errorsSeen = new Map<string, number>();
let status: StatusLine | undefined;
const startedAt = Date.now();
const fleet = startFleet({
  url: opts.url,
  protocol: opts.protocol,
  vehicles,
  seed: opts.seed,
  rate: opts.rate,
  qos: opts.qos,
  keepalive: opts.keepalive,
  coverageGaps: opts.coverageGaps,
  duplicates: opts.duplicates,
  owntracks: opts.owntracks,
  maxFixes: opts.fixes,
  hooks: {
    // the first occurrence of each distinct error is worth a line; the rest are counted
    onError(vehicleId, err) {
      const n = errorsSeen.get(err.message) ?? 0;
      errorsSeen.set(err.message, n + 1);
      if (n === 0 && errorsSeen.size <= 10) status?.log(`${vehicleId}: ${err.message}`);
    },
  },
});

const progress = (): Progress | undefined => {
  if (opts.durationS !== undefined)
    return {
      done: Math.min(opts.durationS, (Date.now() - startedAt) / 1000),
      total: opts.durationS,
      unit: "s",
    };
  if (opts.fixes !== undefined) return { done: fleet.stats().generated, total: opts.fixes, unit: "fixes" };
  return undefined;
};
status = opts.quiet ? undefined : startStatusLine({ read: fleet.stats, progress });

const reason = await new Promise<string>((resolve) => {
  if (opts.durationS !== undefined) setTimeout(() => resolve("duration reached"), opts.durationS * 1000);
  if (opts.fixes !== undefined) fleet.finished.then(() => resolve(`${opts.fixes} fixes generated`));
  let signals = 0;
  const onSignal = (signal: string) => {
    if (++signals > 1) process.exit(130);
    resolve(signal);
  };
  process.on("SIGINT", () => onSignal("SIGINT"));
  process.on("SIGTERM", () => onSignal("SIGTERM"));
});

fleet.stopGenerating();
status?.log(`${reason}: sending buffered fixes, waiting for acknowledgements (up to 15 s)…`);
const final = await fleet.stop(15_000);
status?.stop();
say(summary(final, (Date.now() - startedAt) / 1000));
if (final.authRefused > 0) {
  say(
    `${final.authRefused} truck(s) refused by the platform: their credentials in ${opts.credentialsFile} ` +
      "are stale (a reset platform?). Run again with --register.",
  );
}
process.exit(final.acked === final.sent && final.authRefused === 0 ? 0 : 1);

function summary(s: FleetStats, seconds: number): string {
  const lost = s.sent - s.acked;
  return [
    `done in ${seconds.toFixed(1)} s: ${s.generated} fixes generated, ${s.sent} sent`,
    ` (${(s.sent / seconds).toFixed(1)}/s), ${s.acked} acknowledged`,
    lost > 0 ? `, ${lost} NOT acknowledged` : "",
    s.batches ? `, ${s.batches} gap uploads` : "",
    s.duplicates ? `, ${s.duplicates} duplicates` : "",
    s.rejected ? `, ${s.rejected} rejected by the platform` : "",
    `, ${s.errors} errors, ${s.reconnects} reconnect attempts`,
  ].join("");
}

/**
 * The token `npm start` generated for the local demo (api/admin-token.ts writes it to
 * DATA_DIR/admin-token, mode 0600), when neither --token nor an environment variable gives one.
 */
function localAdminToken(): string | undefined {
  const file = join(config.DATA_DIR, "admin-token");
  return existsSync(file) ? readFileSync(file, "utf8").trim() || undefined : undefined;
}

/** The database for registration when the API is unreachable: DATABASE_URL, or the local services. */
function databaseTarget(url: string): DatabaseTarget | undefined {
  if (config.DATABASE_URL) return { databaseUrl: config.DATABASE_URL, redisUrl: config.REDIS_URL };
  const host = new URL(url).hostname;
  if (!["127.0.0.1", "localhost", "[::1]", "::1"].includes(host)) return undefined;
  const env = withLocalServices();
  return env.DATABASE_URL ? { databaseUrl: env.DATABASE_URL, redisUrl: env.REDIS_URL } : undefined;
}
