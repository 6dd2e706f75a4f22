import { expect } from "vitest";
import type { Pipeline } from "../../src/config/pipeline.js";
import type { RedisTarget } from "../../src/redis/target.js";
import { Switchboard } from "../../src/service/switchboard.js";
import { silentLogger } from "../../src/telemetry/log.js";
import { eventually, fastPipeline, Harness } from "./harness.js";

/** A harness with the service layer on top: agents register, send, fetch and ack. */
export class ServiceHarness extends Harness {
  readonly service: Switchboard;

  constructor(pipeline: Pipeline = fastPipeline(), where?: string | RedisTarget) {
    super(pipeline, where);
    this.service = new Switchboard({
      target: this.target,
      redis: this.redis,
      keys: this.keys,
      pipeline,
      log: silentLogger,
    });
  }

  /** Registers agents: `name` or `name:cap1,cap2`. */
  async register(...specs: string[]): Promise<void> {
    await this.agents(...specs);
  }

  /** Sends as `from` with the defaults of the send_message tool. */
  sendAs(from: string, input: Record<string, unknown>) {
    return this.service.send(from, { type: "message", ...input } as never);
  }

  /**
   * alice asks bob (`step 0`), bob replies (`ok`), alice follows up in the thread (`step 1`):
   * checks that the reply joined the thread and that bob sees the three in order; returns
   * the first message.
   */
  async threadOfThree() {
    const first = await this.sendAs("alice", { to: ["bob"], subject: "plan", body: "step 0" });
    await eventually(async () => (await this.service.digest("bob")).unread === 1);
    const reply = await this.sendAs("bob", {
      to: ["alice"],
      reply_to: first.message_id,
      body: "ok",
    });
    expect(reply.thread_id).toBe(first.thread_id);
    await this.sendAs("alice", { to: ["bob"], thread_id: first.thread_id, body: "step 1" });
    const thread = await eventually(async () => {
      const t = await this.service.getThread("bob", first.thread_id).catch(() => []);
      return t.length === 3 && t;
    });
    expect(thread.map((m) => [m.seq, m.from, m.body])).toEqual([
      [1, "alice", "step 0"],
      [2, "bob", "ok"],
      [3, "alice", "step 1"],
    ]);
    return first;
  }

  /** Fetches without waiting, and acks nothing. */
  async fetch(agent: string, limit = 100) {
    return this.service.fetch(agent, { limit, wait_seconds: 0 });
  }

  override async close(): Promise<void> {
    this.service.close();
    await super.close();
  }
}
