import type { Pipeline } from "../../src/config/pipeline.js";
import type { RedisTarget } from "../../src/redis/target.js";
import { Switchboard } from "../../src/service/switchboard.js";
import { silentLogger } from "../../src/telemetry/log.js";
import { fastPipeline, Harness } from "./harness.js";

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

  /** Fetches without waiting, and acks nothing. */
  async fetch(agent: string, limit = 100) {
    return this.service.fetch(agent, { limit, wait_seconds: 0 });
  }

  override async close(): Promise<void> {
    this.service.close();
    await super.close();
  }
}
