import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startPlatform, type TestPlatform } from "./support/platform.ts";
import { spawnEntry } from "./support/processes.ts";

const run = promisify(execFile);

describe("operator commands", () => {
  let p: TestPlatform;
  const cli = (...args: string[]) =>
    run(process.execPath, ["--import", "tsx", "scripts/cli.ts", ...args], { env: p.env, encoding: "utf8" });

  beforeAll(async () => {
    p = await startPlatform();
  });
  afterAll(() => p?.close());

  it("vehicle add --json prints credentials once that then authenticate over MQTT", async () => {
    const { stdout } = await cli("vehicle", "add", "cli-truck", "--imei", "356307042441013", "--json");
    const creds = JSON.parse(stdout);
    expect(Object.keys(creds).sort()).toEqual(["deviceKey", "id", "password", "username"]);
    expect(creds).toMatchObject({ id: "cli-truck", username: "cli-truck" });
    expect(creds.password).toMatch(/^[A-Za-z0-9_-]{22}$/);
    expect(creds.deviceKey).toMatch(/^[a-z2-7]{26}$/);
    const stored = await p.pool.query(
      "SELECT imei, credential_hash, device_key_hash FROM vehicles WHERE id = 'cli-truck'",
    );
    expect(stored.rows[0].imei).toBe("356307042441013");
    expect(stored.rows[0].credential_hash.toString()).not.toContain(creds.password);
    expect(stored.rows[0].device_key_hash.toString()).not.toContain(creds.deviceKey);
    const client = await p.connect(creds);
    expect(client.connected).toBe(true);
  });

  it("vehicle rotate prints a new secret and device key once; the old secret stops working", async () => {
    const { stdout } = await cli("vehicle", "rotate", "cli-truck", "--json");
    const creds = JSON.parse(stdout);
    expect(Object.keys(creds).sort()).toEqual(["deviceKey", "id", "password", "username"]);
    expect(creds.deviceKey).toMatch(/^[a-z2-7]{26}$/);
    expect((await p.connect(creds)).connected).toBe(true);
    const missing = await cli("vehicle", "rotate", "no-such-truck").then(
      () => 0,
      (e: { code: number }) => e.code,
    );
    expect(missing).toBe(1);
  });

  it("vehicle list shows it and vehicle remove deletes it; a second add of the same id fails", async () => {
    const dup = await cli("vehicle", "add", "cli-truck").then(
      () => 0,
      (e: { code: number }) => e.code,
    );
    expect(dup).toBe(1);
    expect(
      JSON.parse((await cli("vehicle", "list", "--json")).stdout).map((v: { id: string }) => v.id),
    ).toContain("cli-truck");
    await cli("vehicle", "remove", "cli-truck");
    expect(JSON.parse((await cli("vehicle", "list", "--json")).stdout)).toEqual([]);
  });

  it("queue retry-failed answers with the number of failed batches it retried", async () => {
    const { stdout } = await cli("queue", "retry-failed");
    expect(stdout).toMatch(/^retried 0 failed batch/);
  });

  it("an invalid setting stops a process at start with a message naming the variable", async () => {
    const proc = spawnEntry("broker/main.ts", { ...p.env, BATCH_SIZE: "lots" });
    let stderr = "";
    proc.child.stderr?.on("data", (d: Buffer) => {
      stderr += d.toString();
    });
    expect(await proc.exited).toBe(2);
    expect(stderr).toContain("BATCH_SIZE");
  });
});
