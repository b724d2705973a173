import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { configTable } from "../core/config/table.ts";
import { configSchema } from "../core/config.ts";

const readme = readFileSync(new URL("../README.md", import.meta.url), "utf8");

describe("README", () => {
  it("documents every configuration variable of the schema", () => {
    const documented = new Set([...readme.matchAll(/^\|\s*`([A-Z0-9_]+)`\s*\|/gm)].map((m) => m[1]));
    const missing = Object.keys(configSchema.shape).filter((name) => !documented.has(name));
    expect(missing).toEqual([]);
  });

  it("has the configuration table scripts/config-table.ts prints (defaults, used by, meaning)", () => {
    expect(readme).toContain(`\n${configTable()}\n`);
  });

  it("says who may acknowledge alerts as the API does (access operate: operators and admins; test/api/vehicle-scope.test.ts)", () => {
    const rows = readme.split("\n").filter((l) => /^\| `POST \/api\/alerts\/(:id\/)?ack`/.test(l));
    expect(rows).toHaveLength(2);
    for (const row of rows) {
      expect(row).toContain("operators and admins");
      expect(row).not.toContain("viewers too");
    }
    expect(readme).toContain("`viewer` (reads only)");
    expect(readme).toContain("acknowledge one or all shown: operators and admins");
  });

  it("has a two-line quick start whose test line is what .ci/run runs", () => {
    const quick = /## Quick start[\s\S]*?```sh\n([\s\S]*?)```/.exec(readme)?.[1] ?? "";
    const lines = quick.trim().split("\n");
    expect(lines).toHaveLength(2);
    expect(lines[1]).toMatch(/^npm test\b/);
    expect(readFileSync(new URL("../.ci/run", import.meta.url), "utf8")).toMatch(/^npm test$/m);
  });
});
