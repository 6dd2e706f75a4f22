import { describe, expect, it } from "vitest";
import { finished, start } from "../support/cli.js";
import { call, joinAs, useServe, type Fetched } from "../support/mcp.js";

/**
 * A retried send_message with the same idempotency key and body is one message, however
 * far behind the pipeline is: here the front end runs no stages, and a `switchboard
 * worker` is started only after the retry, as when workers elsewhere lag.
 */
const fixture = useServe({ args: ["--no-workers"] });

interface Sent {
  message_id: string;
  status: string;
}

describe("idempotent sends", () => {
  it("answers a retry made before the pipeline validated the first with the first message", async () => {
    // The front end claims the key when it accepts the first send, so a retry that comes
    // before the pipeline has seen the first (here: no worker runs yet) gets the first
    // message back as `duplicate`, and no notice.
    const eli = await joinAs(fixture.serve.url, "eli", "legacy");
    const fay = await joinAs(fixture.serve.url, "fay", "modern");
    const args = { to: ["fay"], body: { order: 1 }, idempotency_key: "order-1" };
    const first = await call<Sent>(eli.client, "send_message", args);
    const retry = await call<Sent>(eli.client, "send_message", args);
    expect(first.status).toBe("accepted");

    const worker = start(["worker"], fixture.env);
    const stopped = finished(worker);
    try {
      // The pipeline itself keeps it to one message: fay gets it once.
      const got = await call<Fetched>(fay.client, "fetch_inbox", { wait_seconds: 15 });
      expect(got.messages.map((m) => [m.message_id, m.body])).toEqual([
        [first.message_id, { order: 1 }],
      ]);
      expect(retry).toMatchObject({ message_id: first.message_id, status: "duplicate" });
      const notices = await call<Fetched>(eli.client, "fetch_inbox", { wait_seconds: 2 });
      expect(notices.messages).toEqual([]);
    } finally {
      worker.kill("SIGTERM");
      expect((await stopped).code).toBe(0);
    }
  });
});
