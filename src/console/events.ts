import type { ServerResponse } from "node:http";
import { Refusal } from "../http/json-request.js";
import { decodeActivity, type ActivityEvent } from "../protocol/activity.js";
import { SwitchboardError } from "../protocol/errors.js";
import type { RedisClient } from "../redis/client.js";
import { ConsoleKeys } from "../redis/console-keys.js";
import type { Keys } from "../redis/keys.js";
import { connectTarget, type RedisTarget } from "../redis/target.js";

/**
 * Open event streams a process serves at most; one more is refused with 503.
 * @defaultValue 64
 */
export const MAX_STREAMS = 64;

/**
 * How often an idle stream gets a `: ping` comment, so proxies keep it open.
 * @defaultValue 15000 ms
 */
export const PING_MS = 15_000;

export interface ActivityOptions {
  target: RedisTarget;
  keys: Keys;
  /** How many dead letters the store holds now: a `dead_letters` event says so. */
  deadLetters: () => Promise<number>;
}

/**
 * `GET /console/api/events`: server-sent events from the activity channel. One pub/sub
 * connection per process, opened with the first stream and kept; each published event
 * goes to every open stream as `event: agent`, `message` or `dead_letters`. A change of
 * the dead letters is counted once per publish, however many streams are open.
 */
export class ActivityStreams {
  readonly #options: ActivityOptions;
  readonly #streams = new Set<ServerResponse>();
  #subscriber: RedisClient | undefined;
  #ping: NodeJS.Timeout | undefined;

  constructor(options: ActivityOptions) {
    this.#options = options;
  }

  /** Starts a stream on `res`, or refuses (503) when {@link MAX_STREAMS} are open. */
  open(res: ServerResponse): void {
    if (this.#streams.size >= MAX_STREAMS) {
      const error = new SwitchboardError(
        "RATE_LIMITED",
        `this process serves ${MAX_STREAMS} console event streams already; close a console tab, or try another serve process`,
        { data: { retry_after_seconds: 5 } },
      );
      throw new Refusal(error, 503);
    }
    this.#connect();
    res.writeHead(200, {
      "content-type": "text/event-stream; charset=utf-8",
      "cache-control": "no-store",
      "x-accel-buffering": "no",
    });
    res.write("retry: 3000\n\n");
    this.#streams.add(res);
    res.once("close", () => this.#streams.delete(res));
  }

  /** Ends every stream and closes the pub/sub connection. */
  close(): void {
    for (const res of this.#streams) res.end();
    this.#streams.clear();
    clearInterval(this.#ping);
    this.#subscriber?.disconnect();
    this.#subscriber = undefined;
  }

  #connect(): void {
    if (this.#subscriber !== undefined) return;
    const subscriber = connectTarget(this.#options.target, "reader", "switchboard:console");
    subscriber.on("error", () => undefined); // reconnects; a page re-reads on its next event
    subscriber.on("message", (_channel: string, payload: string) => {
      void this.#tell(decodeActivity(payload));
    });
    void subscriber
      .subscribe(new ConsoleKeys(this.#options.keys).activityChannel())
      .catch(() => undefined);
    this.#subscriber = subscriber;
    this.#ping = setInterval(() => this.#write(": ping\n\n"), PING_MS);
    this.#ping.unref();
  }

  async #tell(events: readonly ActivityEvent[]): Promise<void> {
    for (const event of events) {
      if (event.kind === "agent") {
        this.#send("agent", { name: event.name, status: event.status });
      } else if (event.kind === "message") {
        const { message_id, thread_id, status, from } = event;
        this.#send("message", { message_id, thread_id, status, from });
      } else {
        const count = await this.#options.deadLetters().catch(() => undefined);
        if (count !== undefined) this.#send("dead_letters", { count });
      }
    }
  }

  #send(event: string, data: object): void {
    this.#write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
  }

  #write(text: string): void {
    for (const res of this.#streams) res.write(text);
  }
}
