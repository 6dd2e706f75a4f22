import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import type { Browser, BrowserContext, Page } from "playwright-core";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { produceFlat } from "../../bench/load.js";
import { loadPipeline } from "../../src/config/pipeline.js";
import { Ingress } from "../../src/ingress/ingress.js";
import { composeEnvelope } from "../../src/protocol/compose.js";
import { Keys } from "../../src/redis/keys.js";
import { consoleUrl, FOREIGN_HOST, launchChromium, logIn } from "../support/browser.js";
import { run } from "../support/cli.js";
import { eventually } from "../support/harness.js";
import { seedReplayable } from "../support/dlq.js";
import {
  call,
  fastPipelineWith,
  joinAs,
  useServe,
  type Agent,
  type Fetched,
} from "../support/mcp.js";

/**
 * The web console in a real Chromium against a real `serve`: login with the operator
 * token, live pages (server-sent events), a dead letter replayed from its page, an
 * overseer's post, and the refusals (a wrong token, a cross-site POST, an ended session).
 */
// The inbox takes the 10,000-message thread whole (the default quota, 1,000, would bounce
// 9,000 of them, each with a notice to the sender in the same thread).
const fixture = useServe({ yaml: fastPipelineWith({ inbox: { quota: 10_000 } }) });

let browser: Browser;
let token: string;
const contexts: BrowserContext[] = [];

async function newPage(): Promise<Page> {
  const context = await browser.newContext();
  contexts.push(context);
  return context.newPage();
}

/** A page logged in to the console. */
async function console_(): Promise<Page> {
  const page = await newPage();
  await logIn(page, fixture.serve.url, token, "alice");
  return page;
}

/** What an agent's inbox holds within `seconds`. */
const inbox = (agent: Agent, seconds: number) =>
  call<Fetched>(agent.client, "fetch_inbox", { wait_seconds: seconds });

beforeAll(async () => {
  browser = await launchChromium();
  const created = await run(["console", "token", "--json"], fixture.env);
  expect(created.code, created.stderr).toBe(0);
  token = (JSON.parse(created.stdout) as { token: string }).token;
  expect(token).toMatch(/^sbc_/);
});

afterEach(async () => {
  await Promise.all(contexts.splice(0).map((context) => context.close()));
});

afterAll(async () => {
  await browser?.close();
});

describe("the web console in Chromium", { timeout: 60_000 }, () => {
  it("refuses a wrong token in the page, then logs in with the operator token", async () => {
    const page = await newPage();
    await page.goto(consoleUrl(fixture.serve.url));
    await page.getByLabel("Operator token").fill("sbc_not-the-token");
    await page.getByRole("button", { name: "Log in" }).click();
    await expect.poll(() => page.getByRole("alert").textContent()).toMatch(/^Login refused: /);
    await page.getByLabel("Operator token").fill(token);
    await page.getByRole("button", { name: "Log in" }).click();
    await page.getByRole("heading", { level: 1, name: "Agents" }).waitFor();
    expect(await page.getByRole("navigation", { name: "Console" }).textContent()).toContain(
      "Dead letters",
    );
  });

  it("works from the keyboard, with a visible focus", async () => {
    const page = await newPage();
    await page.goto(consoleUrl(fixture.serve.url));
    await page.getByLabel("Operator token").waitFor();
    await page.keyboard.press("Tab");
    expect(await page.evaluate<string>("document.activeElement.id")).toBe("login-token");
    await page.keyboard.type(token);
    await page.keyboard.press("Enter");
    await page.getByRole("heading", { level: 1, name: "Agents" }).waitFor();
    // Tab reaches the navigation; the focused link shows an outline; Enter follows it.
    let name = "";
    for (let i = 0; i < 5 && name !== "Threads"; i += 1) {
      await page.keyboard.press("Tab");
      name = await page.evaluate<string>("document.activeElement.textContent");
    }
    expect(name).toBe("Threads");
    expect(
      await page.evaluate<string>("getComputedStyle(document.activeElement).outlineStyle"),
    ).not.toBe("none");
    await page.keyboard.press("Enter");
    await page.getByRole("heading", { level: 1, name: "Threads" }).waitFor();
  });

  it("lists a newly registered agent on the agents page without a reload", async () => {
    const page = await console_();
    // A reload would lose this mark.
    await page.evaluate(() => ((globalThis as { marker?: number }).marker = 1));
    await joinAs(fixture.serve.url, "fresh-agent", "modern", ["review"]);
    const row = page.locator('tr[data-agent="fresh-agent"]');
    await row.waitFor({ timeout: 5_000 });
    expect(await row.textContent()).toContain("review");
    expect(await page.evaluate(() => (globalThis as { marker?: number }).marker)).toBe(1);
  });

  it("shows a new message in the thread page within 2 s of send_message", async () => {
    const ann = await joinAs(fixture.serve.url, "ann", "modern");
    await joinAs(fixture.serve.url, "ben", "legacy");
    const first = await call<{ thread_id: string }>(ann.client, "send_message", {
      to: ["ben"],
      subject: "the plan",
      body: "first message",
    });
    const page = await console_();
    await page.goto(consoleUrl(fixture.serve.url, `threads/${first.thread_id}`));
    await page.getByText("first message").waitFor();

    const sent = Date.now();
    const second = await call<{ message_id: string }>(ann.client, "send_message", {
      to: ["ben"],
      thread_id: first.thread_id,
      body: "second message, live",
    });
    await page
      .locator(`li[data-message="${second.message_id}"]`)
      .getByText("second message, live")
      .waitFor({ timeout: Math.max(1, 2_000 - (Date.now() - sent)) });
    expect(Date.now() - sent).toBeLessThan(2_000);
    const seqs = await page.locator("li.message .seq").allTextContents();
    expect(seqs).toEqual(["#1", "#2"]);
  });

  it("reads a long thread 100 messages at a time, in seq order", async () => {
    const eve = await joinAs(fixture.serve.url, "eve", "modern");
    await joinAs(fixture.serve.url, "fay", "modern");
    const send = (body: string, thread_id?: string) =>
      call<{ thread_id: string }>(eve.client, "send_message", { to: ["fay"], body, thread_id });
    const { thread_id } = await send("message 1");
    for (let i = 2; i <= 250; i += 25) {
      const batch = Array.from({ length: Math.min(25, 251 - i) }, (_, j) => i + j);
      await Promise.all(batch.map((n) => send(`message ${n}`, thread_id)));
    }
    await eventually(async () => {
      const { messages } = await call<{ messages: unknown[] }>(eve.client, "get_thread", {
        thread_id,
      });
      return messages.length === 250;
    }, 20_000);

    const page = await console_();
    await page.goto(consoleUrl(fixture.serve.url, `threads/${thread_id}`));
    const items = page.locator("li.message");
    const more = page.getByRole("button", { name: /^Load more/ });
    await expect.poll(() => items.count()).toBe(100);
    await more.click();
    await expect.poll(() => items.count()).toBe(200);
    await more.click();
    await expect.poll(() => items.count()).toBe(250);
    expect(await more.count()).toBe(0);
    const seqs = (await page.locator("li.message .seq").allTextContents()).map((t) =>
      Number(t.slice(1)),
    );
    expect(seqs).toEqual(Array.from({ length: 250 }, (_, i) => i + 1));
  });

  it("keeps a 10,000-message thread responsive: pages of 100, only those in the page", async () => {
    await joinAs(fixture.serve.url, "tk-writer", "modern");
    await joinAs(fixture.serve.url, "tk-reader", "modern");
    const thread_id = `ten-thousand-${Date.now()}`;
    const keys = new Keys(fixture.prefix);
    const seeding = Date.now();
    const envelopes = Array.from({ length: 10_000 }, (_, n) =>
      composeEnvelope({ from: "tk-writer", to: ["tk-reader"], thread_id, body: `message ${n}` }),
    );
    await produceFlat(new Ingress(fixture.redis, keys, loadPipeline(fixture.pipeline)), envelopes);
    const accepted = Date.now() - seeding;
    // Persisted: every message has its seq in the thread's index, not just its ingress entry.
    const ids = envelopes.map((e) => e.id);
    await eventually(
      async () =>
        (await fixture.redis.zmscore(keys.thread(thread_id), ...ids)).every((s) => s !== null),
      30_000,
    );
    console.log(
      `10,000 messages: accepted in ${accepted} ms, persisted in ${Date.now() - seeding} ms`,
    );

    const page = await console_();
    // Long tasks (over 50 ms on the main thread) from here on; the routes are hash
    // changes in one document, so the observer sees the thread page throughout.
    await page.evaluate(`
      globalThis.longTasks = [];
      new PerformanceObserver((list) => {
        for (const entry of list.getEntries()) globalThis.longTasks.push(Math.round(entry.duration));
      }).observe({ type: "longtask" });
    `);
    const opened = Date.now();
    await page.goto(consoleUrl(fixture.serve.url, `threads/${thread_id}`));
    const items = page.locator("li.message");
    const more = page.getByRole("button", { name: /^Load more/ });
    await expect.poll(() => items.count()).toBe(100);
    const figures = [`first page ${Date.now() - opened} ms`];
    const seqs = async () =>
      (await page.locator("li.message .seq").allTextContents()).map((t) => Number(t.slice(1)));
    expect(await seqs()).toEqual(Array.from({ length: 100 }, (_, i) => i + 1));
    for (let pages = 2; pages <= 4; pages += 1) {
      const clicked = Date.now();
      await more.click();
      await expect.poll(() => items.count()).toBe(100 * pages);
      figures.push(`page ${pages} ${Date.now() - clicked} ms`);
    }
    // Still answering: the compose field takes typing; the DOM holds the 4 pages, not 10,000.
    const compose = page.getByRole("textbox", { name: "Message" });
    const typed = Date.now();
    await compose.fill("still here");
    expect(await compose.inputValue()).toBe("still here");
    figures.push(`compose field ${Date.now() - typed} ms`);
    expect(await items.count()).toBeLessThanOrEqual(100 * 4);
    expect(await seqs()).toEqual(Array.from({ length: 400 }, (_, i) => i + 1));
    expect(await more.count()).toBe(1);
    const long = await page.evaluate<number[]>("globalThis.longTasks");
    console.log(`10,000-message thread: ${figures.join(", ")}; long tasks (ms): [${String(long)}]`);
  });

  it("replays a dead letter from its page; the message is delivered once", async () => {
    await joinAs(fixture.serve.url, "dl-sender", "modern");
    const receiver = await joinAs(fixture.serve.url, "dl-receiver", "modern");
    const envelope = composeEnvelope({ from: "dl-sender", to: ["dl-receiver"], body: "again" });
    const id = await seedReplayable(
      fixture.redis,
      new Keys(fixture.prefix).stream("dead"),
      envelope,
    );
    const page = await console_();
    await page.goto(consoleUrl(fixture.serve.url, "dead-letters"));
    await page.locator(`tr[data-dead-letter="${id}"]`).getByRole("link").click();
    await page.getByRole("heading", { level: 1, name: `Dead letter ${id}` }).waitFor();
    await page.getByRole("button", { name: "Replay", exact: true }).click();
    await expect
      .poll(() => page.getByRole("status").allTextContents())
      .toContainEqual(expect.stringMatching(/^Replayed: replayed 1\b/));

    const fetched = await inbox(receiver, 15);
    expect(fetched.messages.map((m) => [m.message_id, m.body])).toEqual([[envelope.id, "again"]]);
    // A second replay finds it already replayed; nothing more arrives.
    await page.getByRole("button", { name: "Replay", exact: true }).click();
    await expect
      .poll(() => page.getByRole("status").allTextContents())
      .toContainEqual(expect.stringMatching(/already replayed 1/));
    expect((await inbox(receiver, 1)).messages).toEqual([]);
  });

  it("sends an overseer's post to the agent's fetch_inbox, from human:<name>", async () => {
    const carol = await joinAs(fixture.serve.url, "carol", "modern");
    const page = await console_();
    await page.goto(consoleUrl(fixture.serve.url, "compose"));
    await page.getByLabel(/^To/).fill("carol");
    await page.getByLabel("Message").fill("hello from the console");
    await page.getByRole("button", { name: "Send" }).click();
    await expect
      .poll(() => page.getByRole("status").allTextContents())
      .toContainEqual(expect.stringMatching(/^Sent message /));
    const fetched = await inbox(carol, 15);
    expect(fetched.messages.map((m) => [m.from, m.body])).toEqual([
      ["human:alice", "hello from the console"],
    ]);
  });

  it("refuses a cross-site POST: from a page of another site, and with a foreign Origin", async () => {
    const dave = await joinAs(fixture.serve.url, "dave", "modern");
    const target = new URL("/console/api/posts", fixture.serve.url).href;
    const site = await foreignSite(target);
    try {
      const page = await console_();
      // The logged-in browser opens another site, whose form posts into the console.
      await page.goto(`http://${FOREIGN_HOST}:${(site.address() as AddressInfo).port}/`);
      const [answer] = await Promise.all([
        page.waitForResponse(target),
        page.getByRole("button", { name: "Win a prize" }).click(),
      ]);
      expect(answer.status()).toBeGreaterThanOrEqual(400);
      expect(answer.status()).toBeLessThan(500);
    } finally {
      site.close();
    }
    // With the session cookie and CSRF token, but a foreign Origin: refused all the same.
    const login = await fetch(new URL("/console/login", fixture.serve.url), {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ token }),
    });
    expect(login.status).toBe(200);
    const { csrf } = (await login.json()) as { csrf: string };
    const cookie = login.headers.get("set-cookie")!.split(";")[0]!;
    const post = (headers: Record<string, string>) =>
      fetch(target, {
        method: "POST",
        headers: { "content-type": "application/json", cookie, ...headers },
        body: JSON.stringify({ as: "mallory", to: ["dave"], body: "forged" }),
      });
    expect((await post({ "x-csrf-token": csrf, origin: "http://evil.example" })).status).toBe(403);
    expect((await post({})).status).toBe(403);
    expect((await post({ "x-csrf-token": "wrong" })).status).toBe(403);
    expect((await inbox(dave, 1)).messages).toEqual([]);
  });

  it("shows the login form again when the session has ended", async () => {
    const page = await console_();
    await page.context().clearCookies();
    await page.goto(consoleUrl(fixture.serve.url, "threads"));
    await page.getByText("Your session ended, log in again.").waitFor();
    expect(await page.getByLabel("Operator token").isVisible()).toBe(true);
  });

  it("shows a banner while the event stream is refused", async () => {
    const page = await newPage();
    await page.route("**/console/api/events", (route) => route.abort());
    await logIn(page, fixture.serve.url, token);
    await page.getByText(/^Live updates are down/).waitFor();
  });
});

/** A page on another site with a form that posts to the console. */
async function foreignSite(target: string): Promise<Server> {
  const server = createServer((_request, response) => {
    response.writeHead(200, { "content-type": "text/html" });
    response.end(
      `<!doctype html><title>Another site</title><form method="post" action="${target}" enctype="text/plain">` +
        `<input type="hidden" name='{"as":"mallory","to":["dave"],"body":"forged","x":"' value='"}'>` +
        `<button>Win a prize</button></form>`,
    );
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return server;
}
