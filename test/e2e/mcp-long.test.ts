import { SdkError } from "@modelcontextprotocol/client";
import { beforeAll, describe, expect, it } from "vitest";
import {
  call,
  connectLegacy,
  connectModern,
  useServe,
  type McpClient,
  type FetchedMessage as Message,
} from "../support/mcp.js";

/** Calls that wait: a long-polling fetch and a send that awaits its reply. */
const fixture = useServe();

const tokens: Record<string, string> = {};

/** A client acting as `name` (registered before the tests); legacy or modern. */
async function as(name: string, era: "legacy" | "modern" = "legacy"): Promise<McpClient> {
  const token = tokens[name]!;
  return era === "legacy"
    ? connectLegacy(fixture.serve.url, token)
    : connectModern(fixture.serve.url, { token });
}

beforeAll(async () => {
  const client = await connectModern(fixture.serve.url);
  for (const name of ["ivy", "jo", "kai", "lu"]) {
    tokens[name] = (await call<{ token: string }>(client, "register_agent", { name })).token;
  }
});

describe("MCP long calls", () => {
  it("returns a long poll as soon as mail arrives", async () => {
    const ivy = await as("ivy", "modern");
    const started = Date.now();
    const polling = call<{ messages: Message[] }>(ivy, "fetch_inbox", { wait_seconds: 20 });
    await new Promise((resolve) => setTimeout(resolve, 300));
    await call(await as("jo"), "send_message", { to: ["ivy"], body: "wake up" });
    const { messages } = await polling;
    expect(messages.map((m) => m.body)).toEqual(["wake up"]);
    expect(Date.now() - started).toBeLessThan(5000);
  });

  it.each([
    ["legacy", "kai"],
    ["modern", "lu"],
  ] as const)(
    "stops waiting when a %s client gives up; the next fetch gets the mail",
    async (era, name) => {
      const kai = await as(name, era);
      const gaveUp = await call(kai, "fetch_inbox", { wait_seconds: 20 }, { timeoutMs: 300 }).catch(
        (e: unknown) => e,
      );
      expect(gaveUp).toBeInstanceOf(SdkError);
      await new Promise((resolve) => setTimeout(resolve, 100));
      await call(await as("jo"), "send_message", { to: [name], body: "after the timeout" });
      const { messages } = await call<{ messages: Message[] }>(kai, "fetch_inbox", {
        wait_seconds: 10,
      });
      expect(messages).toEqual([
        expect.objectContaining({ body: "after the timeout", redelivered: false }),
      ]);
    },
  );

  it("waits for the reply with await_reply_seconds and returns it", async () => {
    const jo = await as("jo");
    const ivy = await as("ivy", "modern");
    const asking = call<{ message_id: string; reply: Message | null; reply_timed_out: boolean }>(
      jo,
      "send_message",
      { to: ["ivy"], body: "question?", await_reply_seconds: 15 },
    );
    const { messages } = await call<{ messages: Message[] }>(ivy, "fetch_inbox", {
      wait_seconds: 10,
    });
    const question = messages.find((m) => m.body === "question?")!;
    await call(ivy, "send_message", { to: ["jo"], reply_to: question.message_id, body: "answer" });
    const asked = await asking;
    expect(asked).toMatchObject({
      message_id: question.message_id,
      reply_timed_out: false,
      reply: { from: "ivy", body: "answer" },
    });
  });
});
