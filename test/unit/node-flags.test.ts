import { execFileSync } from "node:child_process";
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import { nodeFlags, nodeFlagsOf } from "../../core/node-flags.ts";

const ENTRYPOINT = fileURLToPath(new URL("../../scripts/docker-entrypoint.sh", import.meta.url));

// Node's flags per process (core/node-flags.ts), as `npm start`, the image and the bench launch them
describe("node flags per process", () => {
  const dir = mkdtempSync(join(tmpdir(), "lt-node-flags-"));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  /** what the image's entry point runs for `role`: a `node` first on PATH that writes its arguments */
  function entrypointArgs(role: string): string[] {
    const fake = join(dir, "node");
    const out = join(dir, `args-${role}`);
    writeFileSync(fake, `#!/bin/sh\nprintf '%s\\n' "$@" > '${out}'\n`);
    chmodSync(fake, 0o755);
    execFileSync("sh", [ENTRYPOINT, role], {
      env: { PATH: `${dir}:${process.env.PATH}`, LOGITRACK_ROLE_FILE: join(dir, "role") },
    });
    return readFileSync(out, "utf8").trim().split("\n");
  }

  it("the image's entry point gives each role the flags core/node-flags.ts has for it", () => {
    for (const role of Object.keys(nodeFlags) as (keyof typeof nodeFlags)[])
      expect(entrypointArgs(role)).toEqual([...nodeFlags[role], "--import", "tsx", `${role}/main.ts`]);
  });

  it("npm start's entries get their role's flags, other entries none", () => {
    expect(nodeFlagsOf("worker/main.ts")).toEqual(nodeFlags.worker);
    expect(nodeFlagsOf("broker/main.ts")).toEqual([]);
    expect(nodeFlagsOf("scripts/cli.ts")).toEqual([]);
  });

  it("this Node accepts every flag (a misspelt one would stop the process at launch)", () => {
    for (const flags of Object.values(nodeFlags))
      expect(() => execFileSync(process.execPath, [...flags, "-e", "0"], { stdio: "pipe" })).not.toThrow();
  });
});
