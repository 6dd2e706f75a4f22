import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { finished, ROOT } from "../support/cli.js";
import { call, connectV1, joinAs, useServe, type Fetched } from "../support/mcp.js";

/**
 * examples/sdk-v2.ts and examples/sdk-v1.ts, run as documented (tsx, SWITCHBOARD_TOKEN)
 * against a real `serve` process: each connects as a registered agent, long-polls its
 * inbox, prints the mail and acknowledges it.
 */
const fixture = useServe();
const VERSION = (
  JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as { version: string }
).version;

describe.each(["sdk-v2", "sdk-v1"])("examples/%s.ts", (example) => {
  it("connects with its token, prints the server's version and its mail, and acknowledges it", async () => {
    const run = randomBytes(3).toString("hex");
    const bot = await joinAs(fixture.serve.url, `bot-${run}`, "legacy");
    const alice = await joinAs(fixture.serve.url, `alice-${run}`, "legacy");
    await call(alice.client, "send_message", {
      to: [bot.name],
      subject: "hello",
      body: { n: 1 },
    });

    const child = spawn(
      process.execPath,
      ["--import", "tsx", join(ROOT, "examples", `${example}.ts`)],
      {
        cwd: ROOT,
        env: {
          ...process.env,
          SWITCHBOARD_URL: fixture.serve.url.href,
          SWITCHBOARD_TOKEN: bot.token,
        },
        stdio: ["ignore", "pipe", "pipe"],
      },
    );
    const timer = setTimeout(() => child.kill("SIGKILL"), 50_000);
    const result = await finished(child).finally(() => clearTimeout(timer));
    expect(result.code, result.stderr).toBe(0);
    expect(result.stderr).toBe("");
    expect(result.stdout.split("\n")).toEqual([
      `connected to switchboard ${VERSION}`,
      `${alice.name}: hello {"n":1}`,
      "acknowledged 1",
      "",
    ]);

    const inbox = await call<Fetched>(bot.client, "fetch_inbox", { wait_seconds: 0 });
    expect(inbox.messages).toEqual([]);
    expect(inbox.inbox.unread).toBe(0);
  }, 60_000);
});

describe("the v1 pitfall the docs warn of", () => {
  it("v1's callTool takes the options third: `{ timeout }` second is taken for a result schema", async () => {
    const { token } = await joinAs(
      fixture.serve.url,
      `v1-pitfall-${randomBytes(3).toString("hex")}`,
      "legacy",
    );
    const client = await connectV1(fixture.serve.url, token);
    const params = { name: "list_agents", arguments: {} };
    // Passed as v2 takes them: v1 uses the options object as its result schema.
    await expect(
      client.callTool(params, { timeout: 90_000 } as unknown as undefined),
    ).rejects.toThrow("safeParse is not a function");
    // Third, as the v1 example passes them, they work.
    const result = await client.callTool(params, undefined, { timeout: 90_000 });
    expect(result.isError).not.toBe(true);
  });
});
