import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { ConfigError, loadConfig, processConfigSchemas } from "../../../core/config.ts";

// Security review finding 4 (docs/security.md): the secrets the repository documents as examples
// are public, so no process may run with one unless LOCAL_DEMO says it is a throwaway local run;
// the production compose files carry no secret of their own.
const root = fileURLToPath(new URL("../../..", import.meta.url));
const read = (file: string) => readFileSync(join(root, file), "utf8");
const dotenv = (file: string): Record<string, string> =>
  Object.fromEntries(
    read(file)
      .split("\n")
      .map((l) => l.trim())
      .filter((l) => l && !l.startsWith("#"))
      .map((l) => [l.slice(0, l.indexOf("=")), l.slice(l.indexOf("=") + 1)]),
  );
interface Service {
  build?: unknown;
  image?: string;
  environment?: Record<string, string>;
}
const services = (file: string) =>
  (parse(read(file), { merge: true }) as { services: Record<string, Service> }).services;
const appEnv = (file: string) => Object.values(services(file)).find((s) => s.build)?.environment ?? {};

const SECRET_KEY = /PASSWORD|TOKEN|SECRET|COOKIE/;
const passwordOf = (value: string) => {
  try {
    return decodeURIComponent(new URL(value).password);
  } catch {
    return "";
  }
};

/** Every secret the example files and the development compose file show, with where it is. */
function documentedSecrets(): [string, string][] {
  const found: [string, string][] = [];
  const envs: [string, Record<string, string>][] = [
    ...[".env.example", "postgres.env.example", "emqx.env.example", "pgadmin.env.example"].map(
      (f) => [f, dotenv(f)] as [string, Record<string, string>],
    ),
    ["docker-compose.yml (app)", appEnv("docker-compose.yml")],
    ...Object.entries(services("docker-compose.yml"))
      .filter(([, s]) => !s.build)
      .map(
        ([name, s]) =>
          [`docker-compose.yml (${name})`, s.environment ?? {}] as [string, Record<string, string>],
      ),
  ];
  for (const [file, env] of envs) {
    for (const [key, value] of Object.entries(env)) {
      const secret = SECRET_KEY.test(key) ? value : passwordOf(value);
      if (secret) found.push([secret, `${file} ${key}`]);
    }
  }
  return found;
}

// a URL with no password: only the secret under test decides
const base = { DATABASE_URL: "postgres://u@127.0.0.1:5432/db", REDIS_URL: "redis://127.0.0.1:6379" };
const startable = { ...base, EXTERNAL_MQTT_URL: "mqtt://127.0.0.1:1883" };

describe("finding 4: documented example secrets are refused unless LOCAL_DEMO is on", () => {
  const documented = documentedSecrets();
  // each value once, with the first place that shows it
  const secrets = [...new Map(documented.map(([s, w]) => [s, w] as const).reverse()).entries()];

  it("finding 4: the example files document the secrets this test checks", () => {
    const where = documented.map(([, w]) => w);
    expect(where).toEqual(
      expect.arrayContaining([
        ".env.example ADMIN_TOKEN",
        "docker-compose.yml (app) ADMIN_TOKEN",
        "postgres.env.example POSTGRES_PASSWORD",
        "docker-compose.yml (postgres) POSTGRES_PASSWORD",
      ]),
    );
  });

  it.each(secrets)(
    "finding 4: %s (%s) is refused as ADMIN_TOKEN, a password and in DATABASE_URL",
    (secret) => {
      const cases: [string, Record<string, string>][] = [
        ["EXTERNAL_MQTT_PASSWORD", { EXTERNAL_MQTT_PASSWORD: secret }],
        ["DATABASE_URL", { DATABASE_URL: `postgres://logitrack:${encodeURIComponent(secret)}@db:5432/x` }],
        ["REDIS_URL", { REDIS_URL: `redis://:${encodeURIComponent(secret)}@redis:6379` }],
      ];
      if (secret.length >= 16) cases.push(["ADMIN_TOKEN", { ADMIN_TOKEN: secret }]);
      for (const [name, env] of cases) {
        expect(() => loadConfig({ ...startable, ...env }), name).toThrow(new RegExp(`^  ${name}: `, "m"));
        expect(() => loadConfig({ ...startable, ...env, LOCAL_DEMO: "true" }), name).not.toThrow();
      }
    },
  );

  it("finding 4: every process refuses the shipped .env.example and the development environment, and accepts them with LOCAL_DEMO=true", () => {
    // the bridge also needs its broker, which only docker-compose.scale.yml's .env sets
    const shipped = [
      dotenv(".env.example"),
      { EXTERNAL_MQTT_URL: "mqtt://127.0.0.1:1883", ...appEnv("docker-compose.yml") },
    ];
    for (const [role, schema] of Object.entries(processConfigSchemas)) {
      for (const env of shipped) {
        const { LOCAL_DEMO: _, ...withoutSwitch } = env;
        expect(() => loadConfig(schema, withoutSwitch), role).toThrow(ConfigError);
        expect(() => loadConfig(schema, withoutSwitch), role).toThrow(
          /: (its password )?is a documented example value/,
        );
        expect(() => loadConfig(schema, { ...withoutSwitch, LOCAL_DEMO: "true" }), role).not.toThrow();
      }
    }
    // the development compose file turns the switch on itself, where everyone can see it
    expect(appEnv("docker-compose.yml").LOCAL_DEMO).toBe("true");
  });

  it("finding 4: the API process exits at start with the example ADMIN_TOKEN, naming it", () => {
    const env = { PATH: process.env.PATH, ...base, ADMIN_TOKEN: dotenv(".env.example").ADMIN_TOKEN };
    const run = spawnSync(process.execPath, ["--import", "tsx", "api/main.ts"], {
      cwd: root,
      env,
      encoding: "utf8",
      timeout: 60_000,
    });
    expect(run.status).toBe(2);
    expect(run.stderr).toMatch(/^ {2}ADMIN_TOKEN: is a documented example value/m);
  });

  it.each(["docker-compose.prod.yml", "docker-compose.scale.yml"])(
    "finding 4: %s has no secret of its own and never turns LOCAL_DEMO on",
    (file) => {
      const text = read(file);
      // no `${VAR:-default}` fallback for a secret, no literal secret on any service
      expect(text).not.toMatch(/\$\{[A-Z_]*(PASSWORD|TOKEN|SECRET|COOKIE)[A-Z_]*:?-/);
      for (const [name, s] of Object.entries(services(file))) {
        for (const [key, value] of Object.entries(s.environment ?? {})) {
          expect(SECRET_KEY.test(key) && !/^\$\{/.test(String(value)), `${name} ${key}`).toBe(false);
          expect(passwordOf(String(value)), `${name} ${key}`).toBe("");
        }
        expect(s.environment?.LOCAL_DEMO, name).toBeUndefined();
      }
    },
  );
});
