import { spawn } from "node:child_process";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { finished, ROOT } from "../support/cli.js";
import { call, connectLegacy, useServe } from "../support/mcp.js";

/** examples/two-agents.ts, run as documented against a real `serve` process. */
const fixture = useServe();

describe("the two-agents example", () => {
  it("runs to the end: the planner gets the reviewer's verdict and prints the thread", async () => {
    const child = spawn(
      process.execPath,
      ["--import", "tsx", join(ROOT, "examples", "two-agents.ts")],
      {
        cwd: ROOT,
        env: { ...process.env, SWITCHBOARD_URL: fixture.serve.url.href },
        stdio: ["ignore", "pipe", "pipe"],
      },
    );
    const timer = setTimeout(() => child.kill("SIGKILL"), 50_000);
    const result = await finished(child).finally(() => clearTimeout(timer));
    expect(result.code, result.stderr).toBe(0);
    expect(result.stderr).toBe("");

    const out = result.stdout;
    const run = /planner-([0-9a-f]{6})/.exec(out)?.[1];
    expect(run).toBeDefined();
    expect(out).toContain(`Switchboard at ${fixture.serve.url.href}`);
    expect(out).toContain(
      `planner got: {"verdict":"changes requested: a TODO is left in"} from reviewer-${run}`,
    );
    const thread = out.slice(out.indexOf("the whole thread, in order:"));
    expect(thread).toMatch(
      new RegExp(
        [
          `  #1 planner-${run}: \\{"diff":"\\+ function add.*TODO: types"\\}`,
          `  #2 reviewer-${run}: \\{"verdict":"changes requested: a TODO is left in"\\}`,
        ].join("\n"),
      ),
    );

    // It cleaned up after itself: both agents unregistered.
    const observer = await connectLegacy(fixture.serve.url);
    await call(observer, "register_agent", { name: "example-observer" });
    const { agents } = await call<{ agents: { name: string }[] }>(observer, "list_agents");
    expect(agents.map((a) => a.name)).not.toEqual(
      expect.arrayContaining([expect.stringContaining(run!)]),
    );
  }, 60_000);
});
