import type { RedisClient } from "../redis/client.js";
import type { z } from "zod";
import type { Pipeline } from "../config/pipeline.js";
import { readStoredEnvelopes, decodeStored } from "../history/record.js";
import { SYSTEM_AGENT } from "../protocol/agent.js";
import { composeEnvelope } from "../protocol/compose.js";
import type { Envelope } from "../protocol/envelope.js";
import { severityOf, toErrorInfo, type ErrorInfo } from "../protocol/errors.js";
import { carryingEnvelope } from "../streams/entry.js";
import type { Keys } from "../redis/keys.js";
import type { Logger } from "../telemetry/log.js";
import { Partitions } from "../streams/partitions.js";

/** The topic on which Switchboard publishes alerts; any agent may subscribe to it. */
export const ALERTS_TOPIC = "switchboard.alerts";
/** The type of alert messages. */
export const ALERT_TYPE = "switchboard.alert";

export interface DeadLetterAlert {
  kind: "dead_letter";
  stage: string;
  error: ErrorInfo;
  message_id?: string | undefined;
  recipient?: string | undefined;
  sender?: string | undefined;
}

export interface ErrorRateAlert {
  kind: "error_rate";
  errors: number;
  threshold: number;
  window_ms: number;
}

/** A loop or storm breaker tripped (`loops`): its agents' messages are refused until `resets_at`. */
export interface LoopAlert {
  kind: "loop";
  /** `pair:alice,bob`, `thread:T`, `broadcast:T`. */
  breaker: string;
  rule: string;
  /** The senders counted in the window (both agents of a pair). */
  agents: string[];
  /** The thread of the message that tripped it. */
  thread_id: string;
  messages: number;
  window_seconds: number;
  resets_at: string;
}

export type Alert = DeadLetterAlert | ErrorRateAlert | LoopAlert;

/**
 * Raises alerts: a structured log line, a message on topic `switchboard.alerts` (through
 * the pipeline, like any message) and, when configured, a POST to the alert webhook. A
 * flood raises one alert per kind (and stage and code) per escalation window. The sender
 * of a dead-lettered message is told by persist, with a notice in its inbox.
 */
export class Escalator {
  readonly #redis: RedisClient;
  readonly #keys: Keys;
  readonly #pipeline: Pipeline;
  readonly #log: Logger;

  constructor(redis: RedisClient, keys: Keys, pipeline: Pipeline, log: Logger) {
    this.#redis = redis;
    this.#keys = keys;
    this.#pipeline = pipeline;
    this.#log = log;
  }

  /** Never throws: an alert that cannot be raised is logged. */
  async raise(alert: Alert): Promise<void> {
    try {
      const envelope = alert.kind === "dead_letter" ? await this.#envelope(alert) : undefined;
      const about = envelope === undefined ? alert : { ...alert, sender: envelope.from };
      this.#logLine(about);
      // Alerts about alerts and notices would feed on themselves.
      if (envelope?.from === SYSTEM_AGENT) return;
      if (!(await this.#gate(alert))) return;
      await this.#publish(about);
      await this.#postWebhook(about);
    } catch (error) {
      this.#log.warn("could not raise an alert", { alert: alert.kind, error: toErrorInfo(error) });
    }
  }

  #logLine(alert: Alert): void {
    if (alert.kind !== "dead_letter") {
      this.#log.warn(alert.kind === "loop" ? "loop breaker tripped" : "error rate over threshold", {
        ...alert,
      });
      return;
    }
    const level = severityOf(alert.error.code) === "critical" ? "error" : "warn";
    this.#log[level]("message dead-lettered", {
      stage: alert.stage,
      message_id: alert.message_id,
      recipient: alert.recipient,
      sender: alert.sender,
      error: alert.error,
    });
  }

  async #envelope(alert: DeadLetterAlert): Promise<Envelope | undefined> {
    if (alert.message_id === undefined) return undefined;
    const [stored] = await readStoredEnvelopes(this.#redis, this.#keys, [alert.message_id]);
    try {
      return stored === undefined ? undefined : decodeStored(stored, this.#pipeline.limits);
    } catch {
      return undefined;
    }
  }

  /** True for the first alert of its kind in the window. */
  async #gate(alert: Alert): Promise<boolean> {
    const kind =
      alert.kind === "dead_letter"
        ? `dead_letter:${alert.stage}:${alert.error.code}`
        : alert.kind === "loop"
          ? `loop:${alert.breaker}`
          : alert.kind;
    const windowMs = this.#pipeline.errors.escalation.errorRate.windowMs;
    return (await this.#redis.set(this.#keys.alertGate(kind), "1", "PX", windowMs, "NX")) === "OK";
  }

  async #publish(alert: Alert): Promise<void> {
    const envelope = composeEnvelope({
      from: SYSTEM_AGENT,
      topic: ALERTS_TOPIC,
      type: ALERT_TYPE,
      subject: summary(alert),
      body: JSON.parse(JSON.stringify(alert)) as z.core.util.JSONType,
    });
    const partition = new Partitions(this.#keys, this.#pipeline.partitions).of(envelope.thread_id);
    const validate = partition.stream(this.#pipeline.stages.validate.stream);
    await this.#redis.xadd(validate, "*", ...carryingEnvelope(envelope, this.#pipeline.limits));
  }

  async #postWebhook(alert: Alert): Promise<void> {
    const url = this.#pipeline.errors.escalation.alertWebhook;
    if (url === undefined) return;
    try {
      const response = await fetch(url, {
        method: "POST",
        headers: { "content-type": "application/json", "user-agent": "switchboard" },
        body: JSON.stringify({ ...alert, summary: summary(alert), at: new Date().toISOString() }),
        signal: AbortSignal.timeout(this.#pipeline.webhooks.timeoutMs),
      });
      if (!response.ok) throw new Error(`answered ${response.status}`);
    } catch (error) {
      this.#log.warn("alert webhook failed", { url, error: toErrorInfo(error) });
    }
  }
}

function summary(alert: Alert): string {
  switch (alert.kind) {
    case "error_rate":
      return `${alert.errors} errors within ${alert.window_ms / 1000} s (threshold ${alert.threshold})`;
    case "loop":
      return `loop breaker ${alert.breaker} tripped: more than ${alert.messages} messages in ${alert.window_seconds} s; refused until ${alert.resets_at}`;
    case "dead_letter":
      return `message ${alert.message_id ?? "(unknown)"} dead-lettered in ${alert.stage}: ${alert.error.code}`;
  }
}
