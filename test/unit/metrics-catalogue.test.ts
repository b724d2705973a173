import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { formatPipelineMetrics } from "../../api/pipeline-metrics.ts";
import { alwaysExported, pipelineMetrics } from "../../core/metrics-catalogue.ts";

const root = new URL("../../", import.meta.url).pathname;
const sources = (dir: string) =>
  readdirSync(join(root, dir), { recursive: true, encoding: "utf8" })
    .filter((f) => f.endsWith(".ts"))
    .map((f) => readFileSync(join(root, dir, f), "utf8"));

describe("metrics catalogue", () => {
  it("names every field the bridge and the worker still write as a literal", () => {
    // HINCRBY on the metrics hash with a literal (`name`, `name:${label}`) and histogramFields("name", …);
    // names taken from the catalogue (counterField, labelledField) are checked by the compiler
    const written = new Set<string>();
    for (const src of [...sources("bridge"), ...sources("worker")]) {
      for (const m of src.matchAll(/hincrby\(\s*redisKeys\.metrics,\s*["`]([a-z_]+)/g))
        written.add(m[1] as string);
      for (const m of src.matchAll(/histogramFields\(\s*"([a-z_]+)"/g)) written.add(m[1] as string);
    }
    expect([...written].filter((name) => !Object.hasOwn(pipelineMetrics, name))).toEqual([]);
  });

  it("exports each always-exported counter as 0 with its HELP before the first increment", () => {
    const text = formatPipelineMetrics({});
    for (const name of alwaysExported) {
      const metric = `logitrack_${name.endsWith("_total") ? name : `${name}_total`}`;
      expect(text).toContain(`# HELP ${metric} ${pipelineMetrics[name].help}\n`);
      expect(text).toContain(`\n${metric} 0\n`);
    }
  });
});
