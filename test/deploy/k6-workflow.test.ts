import { readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { parseCliOptions } from "../../simulator/cli-options.ts";

// k6 and Docker cannot run here: what can drift in .github/workflows/k6.yml is checked against the
// scripts, the simulator and the compose file it drives.
const root = fileURLToPath(new URL("../..", import.meta.url));
const read = (file: string) => readFileSync(join(root, file), "utf8");
const workflow = parse(read(".github/workflows/k6.yml")) as {
  on: Record<string, unknown>;
  jobs: {
    k6: {
      env: Record<string, string>;
      steps: { name?: string; run?: string; uses?: string; with?: Record<string, string> }[];
    };
  };
};
const steps = workflow.jobs.k6.steps;
const runs = steps.map((s) => s.run ?? "").join("\n");
/** `__ENV.NAME` the script reads (its own and k6-common.js's) */
const envOf = (script: string) =>
  new Set(
    [read(script), read("load/k6-common.js")].flatMap((src) =>
      [...src.matchAll(/__ENV\.([A-Z_]+)/g)].map((m) => m[1]),
    ),
  );

describe("the k6 workflow", () => {
  it("builds k6 with the xk6-mqtt extension the MQTT script imports", () => {
    expect(read("load/k6-mqtt.js")).toContain('from "k6/x/mqtt"');
    expect(runs).toMatch(/xk6" build --with github\.com\/grafana\/xk6-mqtt --output \.\/k6/);
  });

  it.each([
    ["load/k6-mqtt.js", "MQTT"],
    ["load/k6-http.js", "HTTP"],
  ])("runs %s for a minute with only variables the script reads, exporting its summary", (script, name) => {
    const step = steps.find((s) => s.name?.startsWith(name));
    const cmd = (step?.run ?? "").replace(/\s+/g, " ");
    expect(cmd).toContain(script);
    expect(cmd).toContain("DURATION=1m");
    expect(cmd).toMatch(/--summary-export k6-\w+-summary\.json/);
    const passed = [...cmd.matchAll(/-e ([A-Z_]+)=/g)].map((m) => m[1]);
    const known = envOf(script);
    expect(passed.filter((v) => !known.has(v))).toEqual([]);
  });

  it("registers the trucks with options the simulator has, where both scripts read them", () => {
    const step = steps.find((s) => s.name?.startsWith("register"));
    const argv = (step?.run ?? "")
      .replace(/\s+/g, " ")
      .replace(/^npm run -s simulate -- /, "")
      .replace(/"\$TRUCKS"/, workflow.jobs.k6.env.TRUCKS as string)
      .split(" ");
    const opts = parseCliOptions(argv, { ADMIN_TOKEN: workflow.jobs.k6.env.ADMIN_TOKEN });
    expect(opts).toMatchObject({
      registerOnly: true,
      trucks: 200,
      api: "http://127.0.0.1:8080",
      credentialsFile: ".data/simulator-credentials.json",
      token: "dev-admin-token-change-me",
    });
    // k6's open() resolves a path against the script's folder: load/../.data/…
    expect(read("load/k6-common.js")).toContain('"../.data/simulator-credentials.json"');
  });

  it("uses the compose file's development token and ports, and always uploads and stops", () => {
    const compose = read("docker-compose.yml");
    expect(compose).toContain(`ADMIN_TOKEN: ${workflow.jobs.k6.env.ADMIN_TOKEN}`);
    expect(compose).toContain('"1883:1883"');
    expect(compose).toContain('"127.0.0.1:8080:8080"');
    expect(runs).toContain("docker compose up -d --build --wait");
    const upload = steps.find((s) => s.uses?.startsWith("actions/upload-artifact"));
    expect(upload?.with?.path).toBe("k6-*-summary.json");
    expect(steps.at(-1)?.run).toBe("docker compose down -v");
    // weekly and by hand: a shared runner's figures are trends, not benchmarks
    expect(Object.keys(workflow.on).sort()).toEqual(["schedule", "workflow_dispatch"]);
  });
});
