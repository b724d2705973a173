import { spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { createAccountAdmin } from "../core/account-admin.ts";
import { addToken, parseExpiry } from "../core/api-tokens.ts";
import { cliConfigSchema, loadConfigOrExit } from "../core/config.ts";
import { createPool } from "../core/db.ts";
import { createExternalBrokerKick } from "../core/external-broker-kick.ts";
import { withLocalServices } from "../core/local-services.ts";
import { createLogger } from "../core/logger.ts";
import { migrate } from "../core/migrate.ts";
import { createLocationQueues } from "../core/queues.ts";
import { createRedis } from "../core/redis.ts";
import { addUser, ROLES, type Role, UserExistsError } from "../core/users.ts";
import { createVehicleAdmin } from "../core/vehicle-admin.ts";
import { type Grantee, setGrant, unknownGroups } from "../core/vehicle-groups.ts";
import { addIntegration, listVehicles, VehicleExistsError } from "../core/vehicles.ts";
import { ACCOUNT_USAGE, runAccountCommand } from "./cli-accounts.ts";
import { auditCliCommand } from "./cli-audit.ts";

const USAGE = `usage: npm run -s logitrack -- <command>
  migrate                                   apply pending migrations (sql/)
  vehicle add <id> [--name N] [--plate P] [--imei N] [--json]
                                            register a vehicle; prints its MQTT credentials and
                                            device key (Traccar Client) once
  vehicle list [--json]
  vehicle remove <id>                       delete it, end its MQTT session, clear its live position
  vehicle rotate <id> [--json]              new MQTT secret and device key (printed once); the old
                                            ones stop working, live sessions end
  integration add <name> [--groups 1,2] [--json]
                                            an MQTT account that may subscribe to fleet/# (dashboards)
  user add <name> --role admin|operator|viewer [--password P] [--groups 1,2] [--json]
                                            a fleet manager who logs in to the UI; a password is
                                            generated (and printed once) when none is given
  token add --role admin|operator|viewer [--name N] [--groups 1,2] [--expires 30d|2027-01-31] [--json]
                                            an API token for scripts (Authorization: Bearer), printed once
                                            --groups: sees only these vehicle groups' vehicles
                                            (GET /api/groups), not the whole fleet
${ACCOUNT_USAGE}
  queue retry-failed                        move failed batches back to the queue
  queue stats                               job counts of the locations queue
  recompute [--vehicle ID]... [--dry-run] [--json] [--use-current-env]
                                            derive trips, stops, events and daily analytics of the
                                            stored history again with the workers' rules (refused
                                            if this environment's differ, unless --use-current-env);
                                            prints the rows it changed`;

const { values: opts, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    json: { type: "boolean", default: false },
    name: { type: "string" },
    plate: { type: "string" },
    imei: { type: "string" },
    role: { type: "string" },
    password: { type: "string" },
    groups: { type: "string" },
    expires: { type: "string" },
    vehicle: { type: "string", multiple: true },
    "dry-run": { type: "boolean", default: false },
    "use-current-env": { type: "boolean", default: false },
    help: { type: "boolean", short: "h", default: false },
  },
});
const [group, action, arg] = positionals;
if (opts.help || !group) {
  console.log(USAGE);
  process.exit(opts.help ? 0 : 2);
}

const env = withLocalServices();
const config = loadConfigOrExit(cliConfigSchema, env);
const pool = createPool(config.DATABASE_URL, 2);
const redis = createRedis(config.REDIS_URL);
const vehicles = createVehicleAdmin({
  pool,
  redis,
  externalBroker: createExternalBrokerKick(config, { redis, log: createLogger("cli", "warn") }),
});
const accounts = createAccountAdmin({ pool, redis });

async function run(): Promise<number> {
  const cmd = [group, action].filter(Boolean).join(" ");
  switch (cmd) {
    case "migrate": {
      const applied = await migrate(config.DATABASE_URL);
      console.log(applied.length ? `applied: ${applied.join(", ")}` : "schema is up to date");
      return 0;
    }
    case "vehicle add": {
      if (!arg) return usage("vehicle add needs an id");
      try {
        const creds = await vehicles.register({
          id: arg,
          name: opts.name,
          plate: opts.plate,
          imei: opts.imei,
        });
        if (opts.json) console.log(JSON.stringify(creds));
        else {
          console.log(`vehicle ${creds.id} registered. MQTT credentials (shown once, store them now):`);
          console.log(`  username: ${creds.username}\n  password: ${creds.password}`);
          console.log(`  device key (Traccar Client's device identifier): ${creds.deviceKey}`);
          console.log(
            `  try: mosquitto_pub -h <host> -p ${config.MQTT_PORT} -u '${creds.username}' -P '${creds.password}' -q 1 ` +
              `-t 'fleet/${creds.id}/location' -m '{"lat":25.2,"lng":55.27,"recordedAt":"'$(date -u +%FT%TZ)'"}'`,
          );
        }
        return 0;
      } catch (err) {
        if (err instanceof VehicleExistsError || err instanceof RangeError) {
          console.error(err.message);
          return 1;
        }
        throw err;
      }
    }
    case "vehicle list": {
      const rows = await listVehicles(pool, 100_000);
      if (opts.json) console.log(JSON.stringify(rows));
      else
        for (const v of rows)
          console.log([v.id, v.name ?? "", v.plate ?? "", v.imei ?? "", v.status].join("\t"));
      return 0;
    }
    case "vehicle remove": {
      if (!arg) return usage("vehicle remove needs an id");
      if (!(await vehicles.remove(arg))) {
        console.error(`no vehicle ${arg}`);
        return 1;
      }
      console.log(`vehicle ${arg} removed`);
      return 0;
    }
    case "vehicle rotate": {
      if (!arg) return usage("vehicle rotate needs an id");
      const creds = await vehicles.rotate(arg);
      if (!creds) {
        console.error(`no vehicle ${arg}`);
        return 1;
      }
      console.log(
        opts.json
          ? JSON.stringify(creds)
          : `username: ${creds.username}\npassword: ${creds.password}\ndevice key: ${creds.deviceKey}`,
      );
      return 0;
    }
    case "integration add": {
      if (!arg) return usage("integration add needs a name");
      const groupIds = await parseGroups(opts.groups);
      if (typeof groupIds === "string") return usage(groupIds);
      const creds = await addIntegration(pool, arg);
      await limitTo({ integration: creds.username }, groupIds);
      console.log(
        opts.json ? JSON.stringify(creds) : `username: ${creds.username}\npassword: ${creds.password}`,
      );
      return 0;
    }
    case "user add": {
      if (!arg) return usage("user add needs a name");
      const role = parseRole(opts.role);
      if (!role) return usage("user add needs --role admin|operator|viewer");
      const groupIds = await parseGroups(opts.groups);
      if (typeof groupIds === "string") return usage(groupIds);
      const password = opts.password ?? randomBytes(12).toString("base64url");
      try {
        const user = await addUser(pool, { username: arg, password, role });
        await limitTo({ user: user.username }, groupIds);
        const out = { username: user.username, role: user.role, ...(opts.password ? {} : { password }) };
        if (opts.json) console.log(JSON.stringify(out));
        else {
          console.log(`user ${user.username} (${user.role}) added`);
          if (!opts.password) console.log(`  password (shown once): ${password}`);
        }
        return 0;
      } catch (err) {
        if (err instanceof UserExistsError || err instanceof RangeError) {
          console.error(err.message);
          return 1;
        }
        throw err;
      }
    }
    case "token add": {
      const role = parseRole(opts.role);
      if (!role) return usage("token add needs --role admin|operator|viewer");
      const groupIds = await parseGroups(opts.groups);
      if (typeof groupIds === "string") return usage(groupIds);
      const expiresAt = opts.expires === undefined ? null : parseExpiry(opts.expires);
      if (typeof expiresAt === "string") return usage(expiresAt);
      const t = await addToken(pool, { name: opts.name ?? `cli-${role}`, role, expiresAt });
      await limitTo({ token: t.id }, groupIds);
      const out = { name: t.name, role: t.role, expiresAt: t.expiresAt, token: t.token };
      const until = t.expiresAt ? `, expires ${t.expiresAt}` : "";
      console.log(
        opts.json
          ? JSON.stringify(out)
          : `API token ${t.name} (${t.role}${until}), shown once:\n  ${t.token}`,
      );
      return 0;
    }
    case "queue retry-failed":
    case "queue stats": {
      const queue = createLocationQueues(redis, config.QUEUE_PARTITIONS);
      try {
        if (action === "retry-failed") {
          const before = (await queue.getJobCounts("failed")).failed ?? 0;
          for (const q of queue.queues) await q.retryJobs({ state: "failed", count: 1000 });
          console.log(`retried ${before} failed batch(es)`);
        } else {
          console.log(
            JSON.stringify(await queue.getJobCounts("waiting", "active", "delayed", "failed", "completed")),
          );
        }
      } finally {
        await queue.close();
      }
      return 0;
    }
    case "recompute": {
      // the worker's code, run as a process of its own (scripts/ does not import worker/)
      const args = [
        ...(opts.vehicle ?? []).flatMap((v) => ["--vehicle", v]),
        ...(opts["dry-run"] ? ["--dry-run"] : []),
        ...(opts["use-current-env"] ? ["--use-current-env"] : []),
        ...(opts.json ? ["--json"] : []),
      ];
      const child = spawnSync(process.execPath, ["--import", "tsx", "worker/recompute-main.ts", ...args], {
        cwd: fileURLToPath(new URL("..", import.meta.url)),
        env,
        stdio: "inherit",
      });
      return child.status ?? 1;
    }
    default:
      return (await runAccountCommand(accounts, cmd, arg, opts.json)) ?? usage(`unknown command: ${cmd}`);
  }
}

/** `--groups 1,2` → [1, 2]; a message when it names no group; undefined when absent. */
async function parseGroups(value: string | undefined): Promise<number[] | string | undefined> {
  if (value === undefined) return undefined;
  const ids = value.split(",").map((x) => Number(x.trim()));
  if (ids.some((id) => !Number.isSafeInteger(id) || id <= 0)) return `--groups takes group ids: ${value}`;
  const unknown = await unknownGroups(pool, ids);
  return unknown.length > 0 ? `no group ${unknown.join(", ")}` : ids;
}

/** A new account limited to these groups (none given: it sees the whole fleet). */
async function limitTo(who: Grantee, groupIds: number[] | undefined): Promise<void> {
  if (groupIds) await setGrant(pool, undefined, who, { allVehicles: false, groupIds });
}

function parseRole(value: string | undefined): Role | undefined {
  return ROLES.find((r) => r === value);
}

function usage(msg: string): number {
  console.error(`${msg}\n\n${USAGE}`);
  return 2;
}

let code = 1;
try {
  code = await run();
} finally {
  // every write is recorded, whatever its outcome (a thrown error as exit code 1)
  await auditCliCommand(pool, [group, action].filter(Boolean).join(" "), arg, opts, code).catch(
    (err: unknown) => console.error(`audit row not written: ${(err as Error).message}`),
  );
  await pool.end();
  redis.disconnect();
}
process.exit(code);
