import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startPlatform, type TestPlatform } from "../support/platform.ts";
import { startProtocolApi } from "./api.ts";
import { waitForFixes } from "./clients.ts";

const run = promisify(execFile);

/** Runs a printed command line the way an operator pastes it: in a shell. */
const paste = (line: string) => run("bash", ["-c", line], { encoding: "utf8", timeout: 15_000 });

describe("onboarding a device: the printed mosquitto_pub line works as printed", () => {
  let p: TestPlatform;

  beforeAll(async () => {
    p = await startPlatform();
  });
  afterAll(() => p?.close());

  it("from `vehicle add` on the command line", async () => {
    const env = { ...p.env, MQTT_PORT: String(p.broker.ports.mqtt) };
    const { stdout } = await run(
      process.execPath,
      ["--import", "tsx", "scripts/cli.ts", "vehicle", "add", "onb-cli"],
      {
        env,
        encoding: "utf8",
      },
    );
    expect(stdout).toMatch(/username: onb-cli\n\s+password: \S{22}\n/);
    const line = /try: (mosquitto_pub .*)$/m.exec(stdout)?.[1];
    expect(line).toContain("<host>");
    await paste((line as string).replace("<host>", "127.0.0.1"));
    const [row] = await waitForFixes(p.pool, "onb-cli", 1);
    expect(row).toMatchObject({ lat: 25.2, lng: 55.27 });
  });

  it("from POST /api/vehicles", async () => {
    const api = await startProtocolApi(p, { MQTT_PORT: String(p.broker.ports.mqtt) });
    try {
      const res = await api.app.inject({
        method: "POST",
        url: "/api/vehicles",
        headers: { ...api.admin, host: "127.0.0.1" },
        payload: { id: "onb-api", imei: "356307042441020" },
      });
      expect(res.statusCode).toBe(201);
      const body = res.json();
      expect(body.credentials).toEqual({
        username: "onb-api",
        password: expect.any(String),
        deviceKey: expect.any(String),
      });
      await paste(body.mqtt.example);
      const [row] = await waitForFixes(p.pool, "onb-api", 1);
      expect(row).toMatchObject({ lat: 25.2, lng: 55.27 });
    } finally {
      await api.close();
    }
  });
});
