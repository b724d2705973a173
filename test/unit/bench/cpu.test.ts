import { spawn } from "node:child_process";
import { afterEach, describe, expect, it } from "vitest";
import { cpuSecondsOf, processTree, startCpuMeter } from "../../../load/bench/cpu.ts";

describe("the bench's CPU meter (/proc)", () => {
  const children: ReturnType<typeof spawn>[] = [];
  afterEach(() => {
    // each child leads a process group of its own: the group goes, grandchildren included
    for (const c of children) if (c.pid) process.kill(-c.pid, "SIGKILL");
  });

  it("charges a busy child process to its group and an idle one to nobody", async () => {
    // a shell whose child spins: processTree must find the spinning grandchild
    const busy = spawn("sh", ["-c", `"${process.execPath}" -e "for(;;){}"`], {
      stdio: "ignore",
      detached: true,
    });
    const idle = spawn(process.execPath, ["-e", "setTimeout(() => {}, 60000)"], {
      stdio: "ignore",
      detached: true,
    });
    children.push(busy, idle);
    await new Promise((r) => setTimeout(r, 300));
    expect(processTree(busy.pid as number).length).toBeGreaterThanOrEqual(2);

    const meter = startCpuMeter({
      busy: () => processTree(busy.pid as number),
      idle: () => [idle.pid as number],
    });
    await new Promise((r) => setTimeout(r, 1500));
    const used = meter();
    // a spinning process gets its share of a core even when the test files beside it are busy
    expect(used.busy).toBeGreaterThan(0.05);
    expect(used.busy).toBeGreaterThan((used.idle ?? 0) * 10);
    expect(used.busy).toBeLessThan(1.2);
    expect(used.idle).toBeLessThan(0.1);
    expect(cpuSecondsOf(2 ** 22 + 7)).toBe(0); // no such process
  });
});
