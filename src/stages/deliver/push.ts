import { sendCommands } from "../../redis/batch.js";
import { performance } from "node:perf_hooks";
import { DelayedError } from "bullmq";
import type { RedisClient } from "../../redis/client.js";
import { decodeStored, readStoredEnvelopes, type StoredEnvelope } from "../../history/record.js";
import { SwitchboardError } from "../../protocol/errors.js";
import { Field, text, type StreamEntry } from "../../streams/entry.js";
import { DONE } from "../../pipeline/stage.js";
import { AgentField as A } from "../../redis/agent-fields.js";
import type { Keys } from "../../redis/keys.js";
import { metrics } from "../../telemetry/metrics.js";
import { recordDelivered } from "../../telemetry/record.js";
import {
  entryProcessor,
  type EntryJobsOptions,
  type JobTry,
  type Tried,
} from "../../retry/jobs.js";
import { WEBHOOK_QUEUE, type Queues } from "../../retry/queues.js";
import { Breakers } from "../../webhook/breaker.js";
import { endpointOf } from "../../webhook/endpoint.js";
import { postWebhook } from "../../webhook/post.js";
import {
  heldStatus,
  NOT_ENDPOINT_FAILURES,
  originalFields,
  pushedStatus,
  reject,
  resultLabel,
  retry,
  type Pushed,
} from "./push-results.js";

/** What the delivery marker holds for a message pushed to a webhook (else an inbox entry id). */
export const PUSHED = "webhook";

export interface PusherOptions extends EntryJobsOptions {
  redis: RedisClient;
  keys: Keys;
  queues: Queues;
}

/**
 * Pushes messages to webhooks. {@link Pusher.attempt} is one try, the same for a message's
 * first try (made by deliver itself, see `first-try.ts`) and for every retry (a job of the
 * webhook queue of a process that runs deliver, worked here): it reads the recipient's
 * current webhook (fixed endpoints are used at once), asks the endpoint's circuit breaker
 * (one per webhook URL, see `endpointOf`), POSTs the signed envelope and records the
 * result; failures are retried by the `delivery` policy and dead-lettered when it is spent.
 */
export class Pusher {
  readonly #o: PusherOptions;
  readonly #breakers: Breakers;

  constructor(options: PusherOptions) {
    this.#o = options;
    this.#breakers = new Breakers(options.redis, options.keys, options.pipeline);
  }

  start(): void {
    const span = { name: "send webhook", destination: "webhook" };
    const processor = entryProcessor(this.#o, span, (entry, thisTry, job, token) =>
      this.#retry(entry, thisTry, (until) => job.moveToDelayed(until, token)),
    );
    this.#o.queues.work(WEBHOOK_QUEUE, processor, this.#o.pipeline.webhooks.concurrency);
  }

  /** A job's try; one held back by the breaker waits for it, which is not an attempt. */
  async #retry(
    entry: StreamEntry,
    thisTry: JobTry,
    delayUntil: (at: number) => Promise<void>,
  ): Promise<Tried> {
    const pushed = await this.#attempt(entry, thisTry);
    if (pushed.kind !== "held") return pushed;
    await this.#o.committer.append(entry, {
      kind: "forward",
      outputs: heldStatus(entry, thisTry, pushed),
    });
    await delayUntil(pushed.until);
    throw new DelayedError(); // waiting for the breaker is not an attempt
  }

  /** One try at pushing an entry (a job's): see {@link Pusher.prepare} and {@link Pusher.send}. */
  async #attempt(entry: StreamEntry, thisTry: JobTry): Promise<Pushed> {
    const [prepared] = await this.prepare([entry]);
    return prepared!.kind === "ready" ? this.send(prepared!, thisTry) : prepared!;
  }

  /**
   * The first half of a try, for a batch at once (one round trip): what is known before
   * asking the breaker. An outcome settles an entry without a POST: malformed, expired,
   * pushed before (its marker), recipient gone or back to pull delivery.
   */
  async prepare(entries: readonly StreamEntry[]): Promise<(Ready | Tried)[]> {
    const { redis, keys } = this.#o;
    const now = Date.now();
    const checked = entries.map((entry) => check(entry, now));
    const live = checked.filter((c): c is Checked => !("kind" in c));
    const [looks, stored] = await Promise.all([
      sendCommands(redis, (batch) => {
        for (const { recipient, messageId } of live) {
          batch
            .get(keys.delivered(recipient, messageId))
            .hmget(keys.agent(recipient), A.name, A.webhookUrl, A.webhookSecret);
        }
      }),
      readStoredEnvelopes(
        redis,
        keys,
        live.map((c) => c.messageId),
      ),
    ]);
    let next = 0;
    return checked.map((c): Ready | Tried => {
      if ("kind" in c) return c;
      const k = next++;
      const [[markerError, marker], [agentError, agent]] = [looks[2 * k]!, looks[2 * k + 1]!];
      if (markerError) throw markerError;
      if (agentError) throw agentError;
      const { messageId, recipient } = c;
      // Pushed before, and maybe not recorded: a job whose write failed runs again. Say it
      // again, as deliver does for an inbox marker (the status is one field per recipient).
      if (marker === PUSHED) {
        return { kind: "forward", outputs: [pushedStatus(messageId, recipient)] };
      }
      if (marker !== null) return DONE;
      const [name, url, secret] = agent as [string | null, string | null, string | null];
      if (name === null) {
        return reject(
          "undeliverable",
          "NO_RECIPIENT",
          `agent '${recipient}' was unregistered before delivery`,
        );
      }
      if (url === null || secret === null) {
        // The agent turned to pull delivery: deliver puts it in the inbox.
        return { kind: "forward", outputs: [{ to: "deliver", fields: originalFields(c.entry) }] };
      }
      return { kind: "ready", ...c, url, secret, stored: stored[k] };
    });
  }

  /**
   * The second half of a try: asks the endpoint's breaker, POSTs the signed envelope,
   * records the result with the breaker and, on a 2xx, sets the marker. `budget`, for a
   * first try: when it fires, the POST is abandoned as a timeout that the breaker does not
   * count (the endpoint may be slow, not failing); the caller hands the message to a job.
   */
  async send(ready: Ready, thisTry: JobTry, budget?: AbortSignal): Promise<Pushed> {
    const { redis, keys, pipeline } = this.#o;
    const { entry, messageId, recipient, url, secret } = ready;
    const endpoint = endpointOf(url);
    const permit = await this.#breakers.acquire(endpoint);
    if (!permit.go) {
      metrics.webhookRequests.inc({ result: "breaker_open" });
      // While a probe is out, look again soon rather than at the end of its lease: a probe
      // that succeeds closes the breaker in milliseconds.
      const due =
        permit.state === "half_open" ? Math.min(permit.until, Date.now() + 1000) : permit.until;
      return {
        kind: "held",
        endpoint: endpoint.label,
        breaker: permit.state === "half_open" ? "half_open" : "open",
        until: due + Math.floor(Math.random() * 250),
      };
    }
    const body = this.#body(ready);
    const started = performance.now();
    const result = await postWebhook({
      url,
      secret,
      body,
      messageId,
      attempt: thisTry.attempt,
      traceparent: text(entry, Field.traceparent),
      timeoutMs: pipeline.webhooks.timeoutMs,
      allowPrivateNetworks: pipeline.webhooks.allowPrivateNetworks,
      signal: budget,
    });
    metrics.webhookRequestDuration.observe({}, (performance.now() - started) / 1000);
    metrics.webhookRequests.inc({ result: resultLabel(result) });
    // A refusal by the receiver, or by us before connecting, says nothing of its health;
    // nor does a first try abandoned at its budget.
    const endpointFailed = !result.ok && !NOT_ENDPOINT_FAILURES.has(result.error.code);
    const abandoned = !result.ok && budget?.aborted === true;
    const recorded = abandoned ? undefined : this.#breakers.record(endpoint, !endpointFailed);
    if (!result.ok) {
      await recorded;
      return retry(result.error, endpoint.label, result.retryAfterMs);
    }
    // Independent writes, sent together.
    await Promise.all([
      recorded,
      redis.set(
        keys.delivered(recipient, messageId),
        PUSHED,
        "PX",
        pipeline.dedupe.deliveryWindowMs,
      ),
    ]);
    recordDelivered("webhook", messageId);
    return { kind: "forward", outputs: [pushedStatus(messageId, recipient)] };
  }

  /** The envelope as JSON, from the message record. */
  #body({ messageId, stored }: Ready): string {
    if (stored === undefined) {
      throw new SwitchboardError(
        "MALFORMED_ENTRY",
        `message ${messageId} has no record to push (expired from history?)`,
        { field: "mid" },
      );
    }
    return JSON.stringify(decodeStored(stored, this.#o.pipeline.limits));
  }
}

/** A push entry's message and recipient, read from it. */
interface Checked {
  entry: StreamEntry;
  messageId: string;
  recipient: string;
}

/** A push ready to be sent: its recipient's webhook and the stored envelope. */
export interface Ready extends Checked {
  kind: "ready";
  url: string;
  secret: string;
  stored: StoredEnvelope | undefined;
}

/** A push entry's message and recipient, or the outcome that refuses it. */
function check(entry: StreamEntry, now: number): Checked | Tried {
  const messageId = text(entry, Field.messageId);
  const recipient = text(entry, Field.recipient);
  if (messageId === undefined || recipient === undefined) {
    return reject("rejected", "MALFORMED_ENTRY", "push entry lacks a message id or recipient");
  }
  const expiresAt = Number(text(entry, Field.expiresAt) ?? Infinity);
  if (expiresAt <= now) {
    return reject(
      "expired",
      "EXPIRED",
      `message expired at ${new Date(expiresAt).toISOString()} before ${recipient}'s webhook took it`,
    );
  }
  return { entry, messageId, recipient };
}
