/**
 * `npm run screenshots`: a picture of every page of the web console for the README. Starts
 * one `switchboard serve` on a free port against REDIS_URL (or a Redis of its own, as the
 * benchmarks do), on a key prefix of its own, makes a little traffic (agents, a thread,
 * a dead letter, a lease, a note), logs in with a fresh operator token in Chromium and
 * writes `docs/console/<page>.png`. Removes its keys and stops everything at the end.
 */
import { execFile } from "node:child_process";
import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import { promisify } from "node:util";
import type { Page } from "playwright-core";
import { loadPipeline } from "../src/config/pipeline.js";
import { composeEnvelope } from "../src/protocol/compose.js";
import { connectRedis } from "../src/redis/connection.js";
import { provisionRedis } from "../src/redis/provision.js";
import { consoleUrl, launchChromium, logIn } from "../test/support/browser.js";
import { seedErrors, seedReplayable } from "../test/support/dlq.js";
import { call, closeAgents, connectAgents, type Agent } from "./mcp-agents.js";
import { startServe, type Serve } from "./mcp-serve.js";
import { failed, killAllNow, progress, ROOT } from "./procs.js";

const OUT = join(ROOT, "docs", "console");
const BIN = join(ROOT, "bin", "switchboard.js");

/** A fresh operator token from `switchboard console token --json`, on the serve's prefix. */
async function operatorToken(redisUrl: string, serve: Serve): Promise<string> {
  const { stdout } = await promisify(execFile)(
    process.execPath,
    [BIN, "console", "token", "--json"],
    {
      cwd: ROOT,
      env: { ...process.env, REDIS_URL: redisUrl, SWITCHBOARD_PREFIX: serve.keys.prefix },
    },
  );
  return (JSON.parse(stdout) as { token: string }).token;
}

/** A conversation, a lease, a note, a dead letter and a few errors to show; returns the thread's and the letter's ids. */
async function traffic(agents: Agent[], serve: Serve, redis: ReturnType<typeof connectRedis>) {
  const [planner, coder, reviewer] = agents as [Agent, Agent, Agent];
  const opened = await call(planner, "send_message", {
    to: [coder.name, reviewer.name],
    subject: "Release 0.2: the login page",
    body: "Please take the login form; the reviewer checks the tokens.",
  });
  const thread = String(opened.thread_id);
  await call(coder, "send_message", {
    to: [planner.name],
    thread_id: thread,
    body: "On it. I lease src/auth/** while I work.",
  });
  await call(reviewer, "send_message", {
    to: [planner.name, coder.name],
    thread_id: thread,
    body: { verdict: "changes requested", files: ["src/auth/login.ts"] },
  });
  await call(coder, "fetch_inbox", { wait_seconds: 2 });
  await call(coder, "acquire_lease", {
    resources: ["src/auth/**"],
    ttl_seconds: 600,
    reason: "rewriting the login form",
  });
  await call(planner, "put_note", {
    key: "plans/release-0.2",
    content: "1. login form (agent-1)\n2. token review (agent-2)",
  });
  const envelope = composeEnvelope({
    from: planner.name,
    to: [coder.name],
    body: "lost on the way",
  });
  const letter = await seedReplayable(redis, serve.keys.stream("dead"), envelope);
  const now = Date.now();
  await seedErrors(redis, serve.keys.errors(), [
    { at: now - 300_000, code: "POISON", cat: "validation", stage: "validate", mid: envelope.id },
    ...[240_000, 180_000, 60_000].map((ago) => ({
      at: now - ago,
      code: "WEBHOOK_TIMEOUT",
      cat: "delivery",
      agent: reviewer.name,
      endpoint: "https://hooks.example/review",
      msg: "the webhook did not answer within 5000 ms",
    })),
  ]);
  return { thread, message: String(opened.message_id), letter };
}

async function shoot(page: Page, serve: Serve, name: string, hash: string, heading: RegExp) {
  await page.goto(consoleUrl(serve.url, hash));
  await page.getByRole("heading", { level: 1, name: heading }).waitFor();
  await page.waitForLoadState("networkidle").catch(() => undefined);
  await page.waitForTimeout(400);
  await page.screenshot({ path: join(OUT, `${name}.png`), fullPage: true });
  progress(`wrote docs/console/${name}.png`);
}

async function main(): Promise<number> {
  const pipeline = loadPipeline(process.env.SWITCHBOARD_PIPELINE || undefined);
  const redisAt = await provisionRedis({ log: progress });
  const admin = connectRedis(redisAt.url, "admin", "screenshots:admin");
  process.on("exit", killAllNow);
  let serve: Serve | undefined;
  let agents: Agent[] = [];
  const browser = await launchChromium();
  try {
    await mkdir(OUT, { recursive: true });
    serve = await startServe({ url: redisAt.url, admin, pipeline, label: "console" });
    agents = await connectAgents(serve.url, "session", 3, []);
    const ids = await traffic(agents, serve, admin);
    const token = await operatorToken(redisAt.url, serve);
    const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    await page.goto(consoleUrl(serve.url));
    await page.getByLabel("Operator token").waitFor();
    await page.screenshot({ path: join(OUT, "login.png") });
    progress("wrote docs/console/login.png");
    await logIn(page, serve.url, token, "alice");
    const pages: [string, string, RegExp][] = [
      ["agents", "agents", /^Agents$/],
      ["threads", "threads", /^Threads$/],
      ["thread", `threads/${ids.thread}`, /^Thread/],
      ["message", `messages/${ids.message}`, /^Message /],
      ["dead-letters", "dead-letters", /^Dead letters$/],
      ["dead-letter", `dead-letters/${ids.letter}`, /^Dead letter /],
      ["pipeline", "pipeline", /^Pipeline$/],
      ["errors", "errors", /^Errors$/],
      ["leases", "leases", /^Leases$/],
      ["notes", "notes", /^Notes$/],
      ["compose", `compose?to=${agents[1]!.name}`, /^Compose$/],
    ];
    for (const [name, hash, heading] of pages) await shoot(page, serve, name, hash, heading);
    return 0;
  } catch (error) {
    return failed(error);
  } finally {
    await browser.close();
    await closeAgents(agents);
    await serve?.stop();
    admin.disconnect();
    await redisAt.stop();
  }
}

process.exitCode = await main();
