import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { brokerConfigSchema, configSchema, loadConfig } from "../../../core/config.ts";

// Security review finding 13 (docs/security.md): docker-compose.prod.yml published MQTT (1883,
// 8083) and HTTP (8080) in clear, so device secrets and session cookies crossed the network
// readable. Docker cannot run here: the compose files are read as Compose reads them.
const root = fileURLToPath(new URL("../../..", import.meta.url));
const read = (file: string) => readFileSync(join(root, file), "utf8");

type Port = string | number | { published?: string | number; target?: number };
interface Service {
  environment?: Record<string, string>;
  volumes?: string[];
  ports?: Port[];
}
const services = (file: string) =>
  (parse(read(file), { merge: true }) as { services: Record<string, Service> }).services;

/** The host ports a service publishes (short syntax `[ip:]host:container[/proto]`, or long). */
function published(s: Service): number[] {
  return (s.ports ?? []).map((p) => {
    if (typeof p === "object") return Number(p.published ?? p.target);
    const parts = String(p).split("/")[0]?.split(":") ?? [];
    return Number(parts.length === 1 ? parts[0] : parts.at(-2));
  });
}
const allPublished = (file: string) => Object.values(services(file)).flatMap(published);
const defaultOf = (name: "MQTT_PORT" | "MQTT_WS_PORT" | "HTTP_PORT") =>
  configSchema.shape[name].parse(undefined) as number;
const PLAIN = [defaultOf("MQTT_PORT"), defaultOf("MQTT_WS_PORT"), defaultOf("HTTP_PORT")];

describe("finding 13: production serves MQTT and HTTP over TLS only, plain ports when asked for", () => {
  it("finding 13: docker-compose.prod.yml publishes no plain MQTT or HTTP port, but 8883 and 443", () => {
    const ports = allPublished("docker-compose.prod.yml");
    expect(ports.filter((p) => PLAIN.includes(p))).toEqual([]);
    expect(ports).toEqual(expect.arrayContaining([8883, 443]));
    expect(published(services("docker-compose.prod.yml").api as Service)).toEqual([]);
  });

  it("finding 13: the broker's TLS listener is configured, with the certificate from the mounted folder", () => {
    const broker = services("docker-compose.prod.yml").broker as Service;
    const env = broker.environment ?? {};
    const config = loadConfig(brokerConfigSchema, {
      DATABASE_URL: "postgres://u@db:5432/x",
      REDIS_URL: "redis://redis:6379",
      ...env,
    });
    expect(config.MQTT_TLS_PORT).toBe(8883);
    expect(published(broker)).toEqual([config.MQTT_TLS_PORT]);
    const mount = (broker.volumes ?? []).map((v) => v.split(":")).find(([, target]) => target === "/certs");
    expect(mount?.[0]).toBe("./certs");
    expect(existsSync(join(root, "certs/README.md"))).toBe(true);
    for (const file of [config.MQTT_TLS_CERT, config.MQTT_TLS_KEY])
      expect(file).toMatch(/^\/certs\/[a-z]+\.pem$/);
    // the key never gets committed with the folder
    expect(read(".gitignore")).toMatch(/^certs\/\*\.pem$/m);
  });

  it("finding 13: Caddy terminates HTTPS and WSS in front of the API and the broker's WebSocket listener", () => {
    const all = services("docker-compose.prod.yml");
    const caddy = all.caddy as Service;
    expect(published(caddy).sort()).toEqual([443, 80]);
    const caddyfile = read("docker/caddy/Caddyfile");
    expect(caddy.volumes).toContain("./docker/caddy/Caddyfile:/etc/caddy/Caddyfile:ro");
    // a site address without a scheme or port: Caddy's automatic HTTPS (80 only redirects)
    expect(caddyfile).toMatch(/^\{\$LOGITRACK_DOMAIN\} \{$/m);
    expect(caddyfile).not.toMatch(/http:\/\/|auto_https off|tls internal/);
    expect(caddyfile).toMatch(new RegExp(`reverse_proxy api:${defaultOf("HTTP_PORT")}$`, "m"));
    expect(caddyfile).toMatch(new RegExp(`reverse_proxy broker:${defaultOf("MQTT_WS_PORT")}$`, "m"));
    // the API sees the client's address and https through the proxy, which is its only peer
    expect(all.api?.environment?.TRUST_PROXY).toBe("true");
  });

  it("finding 13: docker-compose.plain.yml adds the plain ports, only to services of the production file", () => {
    const plain = services("docker-compose.plain.yml");
    const prod = services("docker-compose.prod.yml");
    for (const name of Object.keys(plain)) expect(prod[name], name).toBeDefined();
    expect(allPublished("docker-compose.plain.yml").sort()).toEqual([...PLAIN].sort());
  });
});
