import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { configSchema } from "../../core/config.ts";

// Docker cannot run here, so what can drift is checked statically: the compose files, the
// Dockerfile, the entry point, the env examples and the CI workflow against the code they start.
const root = fileURLToPath(new URL("../..", import.meta.url));
const read = (file: string) => readFileSync(join(root, file), "utf8");
const exists = (file: string) => existsSync(join(root, file));
const yaml = (file: string) => parse(read(file), { merge: true }) as Record<string, unknown>;

const CONFIG_VARS = new Set(Object.keys(configSchema.shape));
const COMPOSE_FILES = ["docker-compose.yml", "docker-compose.prod.yml", "docker-compose.scale.yml"];
/** entry point arguments that are not a `<role>/main.ts` process */
const TOOL_COMMANDS = { migrate: "scripts/cli.ts", cli: "scripts/cli.ts" } as const;

interface Service {
  image?: string;
  build?: string | { context?: string; dockerfile?: string };
  command?: string[] | string;
  environment?: Record<string, unknown> | string[];
  env_file?: string | (string | { path: string })[];
  volumes?: (string | { type?: string; source?: string })[];
  ports?: unknown[];
  depends_on?: string[] | Record<string, { condition?: string }>;
  healthcheck?: unknown;
  restart?: string;
  logging?: unknown;
  profiles?: string[];
  deploy?: { resources?: { limits?: unknown } };
}

const services = (file: string) => (yaml(file).services ?? {}) as Record<string, Service>;
/** services that run this repository's image (built here or pulled as logitrack) */
const isApp = (s: Service) => s.build !== undefined || /logitrack/.test(s.image ?? "");
const envKeys = (s: Service) =>
  Array.isArray(s.environment)
    ? s.environment.map((e) => e.split("=")[0] as string)
    : Object.keys(s.environment ?? {});
const envFiles = (s: Service) =>
  (s.env_file === undefined ? [] : Array.isArray(s.env_file) ? s.env_file : [s.env_file]).map((f) =>
    typeof f === "string" ? f : f.path,
  );
const dotenvKeys = (file: string) =>
  read(file)
    .split("\n")
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith("#"))
    .map((l) => l.split("=")[0] as string);
const commandOf = (s: Service) => (typeof s.command === "string" ? s.command.split(/\s+/) : s.command) ?? [];
const dependsOn = (s: Service): Record<string, { condition?: string }> =>
  Array.isArray(s.depends_on) ? Object.fromEntries(s.depends_on.map((d) => [d, {}])) : (s.depends_on ?? {});

/** The roles the entry point runs as `<role>/main.ts` (its first case pattern). */
function entrypointRoles(): string[] {
  const m =
    /^\s*([a-z]+(?:\s*\|\s*[a-z]+)*)\)\s*\n\s*shift\n[\s\S]*?exec node (?:\$flags )?--import tsx "\$role\/main\.ts"/m.exec(
      read("scripts/docker-entrypoint.sh"),
    );
  return (m?.[1] ?? "").split("|").map((r) => r.trim());
}

/** Dockerfile stages by name, each its instructions with continuation lines joined. */
function dockerfileStages(): Map<string, string[]> {
  const stages = new Map<string, string[]>();
  let current: string[] = [];
  const lines = read("Dockerfile")
    .replace(/\\\n\s*/g, " ")
    .split("\n")
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith("#"));
  for (const line of lines) {
    const from = /^FROM\s+\S+(?:\s+AS\s+(\S+))?/i.exec(line);
    if (from) {
      current = [];
      stages.set(from[1] ?? `stage${stages.size}`, current);
    }
    current.push(line);
  }
  return stages;
}

/** `npm …` commands of shell text, without flags that do not change what runs. */
function npmCommands(shell: string): string[] {
  return shell
    .split(/\n|&&|;/)
    .map((c) => c.trim().replace(/^RUN\s+/, ""))
    .map((c) => c.replace(/--mount=\S+\s*/g, "").trim())
    .filter((c) => c.startsWith("npm "))
    .map((c) => c.replace(/\s+--no-(audit|fund)\b/g, "").replace(/\s+/g, " "));
}

const workflow = yaml(".github/workflows/ci.yml") as {
  jobs: Record<
    string,
    {
      container?: string;
      services?: Record<string, { image: string }>;
      env?: Record<string, string>;
      steps: { run?: string; uses?: string }[];
    }
  >;
};
const jobRuns = (job: string) => (workflow.jobs[job]?.steps ?? []).map((s) => s.run ?? "").join("\n");

describe("deployment files stay in step with the code", () => {
  it.each(COMPOSE_FILES)("%s sets only configuration variables of core/config.ts on the app", (file) => {
    const unknown: string[] = [];
    for (const [name, s] of Object.entries(services(file))) {
      if (!isApp(s)) continue;
      for (const key of envKeys(s)) if (!CONFIG_VARS.has(key)) unknown.push(`${name}: ${key}`);
      for (const f of envFiles(s)) {
        for (const key of dotenvKeys(`${f}.example`))
          if (!CONFIG_VARS.has(key)) unknown.push(`${name}: ${key} (${f}.example)`);
      }
    }
    expect(unknown).toEqual([]);
  });

  it.each(COMPOSE_FILES)(
    "%s references files that exist (build, env examples, mounted repo files)",
    (file) => {
      const missing: string[] = [];
      for (const [name, s] of Object.entries(services(file))) {
        if (s.build !== undefined) {
          const b = typeof s.build === "string" ? { context: s.build } : s.build;
          const context = b.context ?? ".";
          if (!exists(context)) missing.push(`${name}: build context ${context}`);
          if (!exists(join(context, b.dockerfile ?? "Dockerfile"))) missing.push(`${name}: dockerfile`);
        }
        // env files hold secrets and are not committed: their documented example must be
        for (const f of envFiles(s)) if (!exists(`${f}.example`)) missing.push(`${name}: ${f}.example`);
        for (const v of s.volumes ?? []) {
          const source = typeof v === "string" ? v.split(":")[0] : v.type === "bind" ? v.source : undefined;
          if (source && /^\.{0,2}\//.test(source) && !exists(source)) missing.push(`${name}: ${source}`);
        }
      }
      expect(missing).toEqual([]);
    },
  );

  it.each(COMPOSE_FILES)("%s documents an example of every secret file it mounts", (file) => {
    const secrets = (yaml(file).secrets ?? {}) as Record<string, { file?: string }>;
    const missing = Object.values(secrets)
      .map((s) => s.file)
      .filter((f): f is string => f !== undefined && !exists(`${f}.example`));
    expect(missing).toEqual([]);
    for (const f of Object.values(secrets))
      if (f.file) expect(read(".gitignore")).toContain(f.file.replace(/^\.\//, ""));
  });

  it.each(COMPOSE_FILES)("%s runs roles the image has: <role>/main.ts or the CLI", (file) => {
    const roles = entrypointRoles();
    expect(roles).toEqual(expect.arrayContaining(["broker", "worker", "api"]));
    for (const role of roles) expect(exists(`${role}/main.ts`), `${role}/main.ts`).toBe(true);
    for (const tool of Object.values(TOOL_COMMANDS)) expect(exists(tool)).toBe(true);
    for (const [name, s] of Object.entries(services(file))) {
      if (!isApp(s)) continue;
      const [role] = commandOf(s);
      expect(role, `${name} has a command`).toBeDefined();
      expect([...roles, ...Object.keys(TOOL_COMMANDS)], `${name}: ${role}`).toContain(role);
    }
  });

  it.each(COMPOSE_FILES)(
    "%s starts the app after healthy services and a completed migration, with Redis durable",
    (file) => {
      const all = services(file);
      for (const [name, s] of Object.entries(all)) {
        for (const [dep, { condition }] of Object.entries(dependsOn(s))) {
          const target = all[dep];
          expect(target, `${name} depends on ${dep}`).toBeDefined();
          // an app service's health check is the image's HEALTHCHECK
          if (condition === "service_healthy")
            expect(target?.healthcheck !== undefined || isApp(target as Service), `${dep} healthcheck`).toBe(
              true,
            );
          if (condition === "service_completed_successfully") expect(target?.restart).toBe("no");
        }
        if (isApp(s) && name !== "migrate" && all.migrate && commandOf(s)[0] !== "simulator")
          expect(dependsOn(s).migrate?.condition, `${name} waits for migrate`).toBe(
            "service_completed_successfully",
          );
        if (s.image?.startsWith("redis:")) {
          const command = commandOf(s).join(" ");
          expect(command).toMatch(/--appendonly yes/);
          expect(command).toMatch(/--maxmemory-policy noeviction/);
        }
      }
    },
  );

  it("publishes no database, Redis or PgAdmin port in production and limits every long-running service", () => {
    for (const file of ["docker-compose.prod.yml", "docker-compose.scale.yml"]) {
      for (const [name, s] of Object.entries(services(file))) {
        if (/^(postgis|redis|dpage\/pgadmin4)/.test(s.image ?? ""))
          expect(s.ports, `${file} ${name}`).toBeUndefined();
        if (name === "migrate") continue;
        expect(s.restart, `${file} ${name} restart`).toBe("unless-stopped");
        expect(s.logging, `${file} ${name} log rotation`).toBeDefined();
        if (isApp(s)) expect(s.deploy?.resources?.limits, `${file} ${name} limits`).toBeDefined();
      }
    }
  });

  it("uses one PostGIS and one Redis image everywhere, PostgreSQL 15 as scripts/services", () => {
    const images = new Set<string>();
    for (const file of COMPOSE_FILES)
      for (const s of Object.values(services(file)))
        if (/^(postgis|redis):?/.test(s.image ?? "")) images.add(s.image as string);
    for (const job of Object.values(workflow.jobs))
      for (const s of Object.values(job.services ?? {})) images.add(s.image);
    expect([...images].sort()).toEqual(["postgis/postgis:15-3.3", "redis:7"]);
    expect(read("scripts/services")).toMatch(/echo 15$/m);
  });

  it("documents only configuration variables in .env.example", () => {
    expect(dotenvKeys(".env.example").filter((k) => !CONFIG_VARS.has(k))).toEqual([]);
  });

  it("builds one non-root image whose entry point, copied folders and ports exist", () => {
    const stages = dockerfileStages();
    const run = [...stages.values()].at(-1) ?? [];
    const text = run.join("\n");
    expect(read("Dockerfile")).toMatch(/^ARG NODE_IMAGE=node:20-bookworm-slim$/m);
    expect(text).toMatch(/^USER node$/m);
    expect(text).toMatch(/^HEALTHCHECK /m);
    const entry = /^ENTRYPOINT \["\/app\/(\S+)"\]$/m.exec(text)?.[1];
    expect(entry).toBe("scripts/docker-entrypoint.sh");
    expect(statSync(join(root, entry as string)).mode & 0o111).not.toBe(0);
    for (const line of run.filter((l) => /^COPY /.test(l) && !/--from=/.test(l))) {
      const sources = line.split(/\s+/).slice(1, -1);
      for (const src of sources) expect(exists(src), `COPY ${src}`).toBe(true);
    }
    for (const role of entrypointRoles())
      expect(text, `COPY ${role}`).toMatch(new RegExp(`^COPY ${role} `, "m"));
    const exposed = /^EXPOSE (.+)$/m.exec(text)?.[1]?.split(/\s+/).map(Number) ?? [];
    const defaults = ["MQTT_PORT", "MQTT_WS_PORT", "HTTP_PORT"].map(
      (k) => configSchema.shape[k as "MQTT_PORT"].parse(undefined) as number,
    );
    expect(exposed.sort((a, b) => a - b)).toEqual(defaults.sort((a, b) => a - b));
    expect(stages.get("deps")?.join("\n")).toMatch(/npm ci --omit=dev/);
  });

  it("builds the image with the same commands CI runs", () => {
    const build = npmCommands(stages("build"));
    expect(build).toEqual(expect.arrayContaining(["npm ci", "npm run typecheck"]));
    const ci = new Set(Object.keys(workflow.jobs).flatMap((job) => npmCommands(jobRuns(job))));
    expect(build.filter((c) => !ci.has(c))).toEqual([]);
  });

  it("has a CI workflow with the lint, typecheck, build, test, browser and docker jobs", () => {
    expect(Object.keys(workflow.jobs)).toEqual(
      expect.arrayContaining(["lint", "typecheck", "build", "test", "browser", "docker"]),
    );
    for (const job of ["test", "browser"]) {
      const j = workflow.jobs[job];
      // the suite needs PostGIS and Redis; set URLs make test/global-setup.ts start nothing itself
      expect(Object.keys(j?.services ?? {}).sort(), job).toEqual(["postgres", "redis"]);
      expect(j?.env?.DATABASE_URL, job).toBeDefined();
      expect(j?.env?.REDIS_URL, job).toBeDefined();
      expect(j?.container, job).toMatch(/^node:20-bookworm/);
    }
    expect(jobRuns("test")).toMatch(/mosquitto/);
    expect(jobRuns("test")).toMatch(/redis-server/);
    expect(jobRuns("browser")).toMatch(/\bchromium\b/);
    const docker = workflow.jobs.docker?.steps ?? [];
    expect(
      docker.some((s) => s.uses?.startsWith("docker/build-push-action") || /docker build/.test(s.run ?? "")),
    ).toBe(true);
    expect(jobRuns("docker")).toMatch(/docker compose -f docker-compose.prod.yml config/);
    const steps = Object.values(workflow.jobs).flatMap((j) => j.steps);
    expect(steps.some((s) => s.uses?.startsWith("actions/setup-node"))).toBe(true);
  });

  it.skipIf(!has("shellcheck"))("entry point passes shellcheck", () => {
    execFileSync("shellcheck", [join(root, "scripts/docker-entrypoint.sh")], { stdio: "pipe" });
  });

  it.skipIf(!has("hadolint"))("Dockerfile passes hadolint", () => {
    execFileSync("hadolint", [join(root, "Dockerfile")], { stdio: "pipe" });
  });
});

function stages(name: string): string {
  return (dockerfileStages().get(name) ?? []).join("\n");
}

function has(bin: string): boolean {
  return spawnSync("sh", ["-c", `command -v ${bin}`], { stdio: "ignore" }).status === 0;
}
