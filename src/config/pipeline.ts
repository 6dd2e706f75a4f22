import { readFileSync } from "node:fs";
import { isIP } from "node:net";
import { fileURLToPath } from "node:url";
import { parse as parseYaml } from "yaml";
import { z } from "zod";
import { describeIssues, firstIssuePath } from "../protocol/issues.js";
import { ERROR_CATEGORIES, SwitchboardError, type ErrorCategory } from "../protocol/errors.js";
import { MAX_JSON_DEPTH } from "../protocol/json-value.js";

/** The stages, in the order a message moves through them. */
export const STAGE_NAMES = ["validate", "route", "deliver", "persist"] as const;
export type StageName = (typeof STAGE_NAMES)[number];

/** The pipeline file used when none is named: `pipelines/default.yaml` of the package. */
export const DEFAULT_PIPELINE_FILE = fileURLToPath(
  new URL("../../pipelines/default.yaml", import.meta.url),
);

const positiveInt = (what: string) =>
  z
    .number({
      error: (issue) =>
        issue.code === "invalid_type"
          ? `expected a positive whole number of ${what}, got ${JSON.stringify(issue.input) ?? "nothing"}`
          : undefined,
    })
    .int({ error: `expected a whole number of ${what}` })
    .positive({ error: `expected a positive number of ${what}` });
const streamName = z
  .string()
  .regex(
    /^[a-z][a-z0-9_-]{0,31}$/,
    "a stream or group name is lowercase letters, digits, '_' or '-'",
  );

const RetentionSchema = z.strictObject({
  /** Acknowledged entries older than this are trimmed; pending ones never are. */
  maxAgeMs: positiveInt("milliseconds").default(300_000),
});

/** Tuning that every stage has; `defaults` sets it for all, a stage may override any field. */
const StageTuningShape = {
  /** Entries read per `XREADGROUP`. */
  batchSize: positiveInt("entries per read").max(10_000),
  /** How long one `XREADGROUP` blocks waiting for entries. */
  blockMs: positiveInt("milliseconds").max(60_000),
  /** Consumer loops of this stage in each process that runs it. */
  concurrency: positiveInt("consumer loops").max(64),
  /** A pending entry idle this long is taken over from its consumer. */
  claimIdleMs: positiveInt("milliseconds"),
  /** How often the janitor looks for idle pending entries, gone consumers and what to trim. */
  janitorIntervalMs: positiveInt("milliseconds"),
  /** An entry handed out more times than this is dead-lettered as poison. */
  maxDeliveries: positiveInt("deliveries").max(1000),
  retention: RetentionSchema,
};

const DefaultsSchema = z.strictObject({
  batchSize: StageTuningShape.batchSize.default(128),
  blockMs: StageTuningShape.blockMs.default(2000),
  concurrency: StageTuningShape.concurrency.default(1),
  claimIdleMs: StageTuningShape.claimIdleMs.default(30_000),
  janitorIntervalMs: StageTuningShape.janitorIntervalMs.default(5000),
  maxDeliveries: StageTuningShape.maxDeliveries.default(5),
  retention: RetentionSchema.prefault({}),
});

const StageOverrideSchema = z.strictObject({
  stream: streamName.optional(),
  group: streamName.optional(),
  batchSize: StageTuningShape.batchSize.optional(),
  blockMs: StageTuningShape.blockMs.optional(),
  concurrency: StageTuningShape.concurrency.optional(),
  claimIdleMs: StageTuningShape.claimIdleMs.optional(),
  janitorIntervalMs: StageTuningShape.janitorIntervalMs.optional(),
  maxDeliveries: StageTuningShape.maxDeliveries.optional(),
  retention: RetentionSchema.optional(),
});

const StagesSchema = z.strictObject(
  {
    validate: StageOverrideSchema.prefault({}),
    route: StageOverrideSchema.prefault({}),
    deliver: StageOverrideSchema.prefault({}),
    persist: StageOverrideSchema.prefault({}),
  },
  {
    error: (issue) =>
      issue.code === "unrecognized_keys"
        ? `unknown stage ${issue.keys.map((k) => `'${k}'`).join(", ")}; the stages are ${STAGE_NAMES.join(", ")}`
        : undefined,
  },
);

/** A routing rule: messages that match also go to the named extra recipients. */
const RoutingRuleSchema = z.strictObject({
  /** A name for logs and errors. */
  name: z.string().min(1).max(64).optional(),
  match: z.strictObject({
    /** A message type, `*` matching any run of characters: `alert.*`. */
    type: z
      .string()
      .regex(/^[a-z0-9._*-]{1,64}$/, "a type pattern such as `alert.*`")
      .optional(),
    /** Only messages from this agent. */
    from: z.string().min(1).max(64).optional(),
  }),
  also: z
    .strictObject({
      capability: z.string().min(1).max(96).optional(),
      agents: z.array(z.string().min(1).max(64)).min(1).optional(),
      topic: z.string().min(1).max(128).optional(),
    })
    .refine(
      (also) => Object.keys(also).length === 1,
      "give exactly one of `capability`, `agents` or `topic`",
    ),
});

export type RoutingRule = z.infer<typeof RoutingRuleSchema>;

/**
 * A retry policy: how many tries in all (the first one included), and the exponential
 * backoff between them: `delayMs × 2^(retry − 1)`, capped at `maxDelayMs`, each delay moved
 * by up to ±`jitter` of itself at random so that failed messages do not retry in lockstep.
 */
const RetryPolicySchema = z
  .strictObject({
    attempts: positiveInt("attempts (the first try included)").max(100),
    delayMs: positiveInt("milliseconds before the first retry"),
    maxDelayMs: positiveInt("milliseconds").default(3_600_000),
    jitter: z
      .number()
      .min(0, "expected a fraction from 0 (no jitter) to 1")
      .max(1, "expected a fraction from 0 (no jitter) to 1")
      .default(0.2),
  })
  .refine((p) => p.maxDelayMs >= p.delayMs, {
    error: "`maxDelayMs` must be at least `delayMs`",
    path: ["maxDelayMs"],
  });

export type RetryPolicy = z.infer<typeof RetryPolicySchema>;

/** What happens to a message whose error falls in a category. */
export const STRATEGIES = ["retry", "dead_letter", "drop"] as const;
export type Strategy = (typeof STRATEGIES)[number];

const StrategiesSchema = z.strictObject(
  Object.fromEntries(
    ERROR_CATEGORIES.map((category) => [
      category,
      z.enum(STRATEGIES, {
        error: `expected one of ${STRATEGIES.join(", ")} (retry with the policy \`retries.${category}\`, dead-letter, or drop and tell the sender)`,
      }),
    ]),
  ) as Record<
    ErrorCategory,
    z.ZodEnum<{ retry: "retry"; dead_letter: "dead_letter"; drop: "drop" }>
  >,
);

const DEFAULT_STRATEGIES: Record<ErrorCategory, Strategy> = {
  validation: "drop",
  routing: "drop",
  auth: "drop",
  delivery: "retry",
  quota: "retry",
  transient: "retry",
  internal: "dead_letter",
};

/** The policies a pipeline file need not spell out; it may override any of them. */
const DEFAULT_RETRIES: Record<string, RetryPolicy> = {
  delivery: { attempts: 8, delayMs: 1000, maxDelayMs: 300_000, jitter: 0.2 },
  quota: { attempts: 10, delayMs: 5000, maxDelayMs: 600_000, jitter: 0.2 },
  transient: { attempts: 6, delayMs: 500, maxDelayMs: 30_000, jitter: 0.2 },
};

/**
 * How deep a message body may nest arrays and objects (`limits.maxBodyDepth`); at most
 * {@link MAX_JSON_DEPTH}, the ceiling every JSON value from outside is held to.
 * @defaultValue 64
 */
export const DEFAULT_MAX_BODY_DEPTH = 64;

/**
 * How fast each agent may send (`limits.sendRate`): a token bucket refilled at `perSecond`,
 * holding at most `burst`. Far above what an agent that waits for its replies sends, and
 * above the MCP benchmark's senders.
 * @defaultValue `{ perSecond: 200, burst: 400 }`
 */
export const DEFAULT_SEND_RATE = Object.freeze({ perSecond: 200, burst: 400 });

const SendRateSchema = z.strictObject({
  /** Sends per second an agent may keep up: the bucket's refill rate. */
  perSecond: z
    .number({ error: "expected sends per second, such as 200 (fractions allowed: 0.5)" })
    .positive({ error: "expected a positive number of sends per second" })
    .max(1_000_000)
    .default(DEFAULT_SEND_RATE.perSecond),
  /** Sends an agent may make at once after a quiet spell: the bucket's size. */
  burst: positiveInt("sends").max(1_000_000).default(DEFAULT_SEND_RATE.burst),
});

const HttpUrlSchema = z.url({
  protocol: /^https?$/,
  error: "expected an http:// or https:// URL, such as https://alerts.example.com/switchboard",
});

/**
 * Bounds of the HTTP servers: `serve`'s MCP front end, and `worker --metrics-port` (which
 * uses the connection fields only). What each guards against: docs/operations.md, "Limits".
 */
const HttpSchema = z.strictObject({
  /** A POST to /mcp with a longer body is answered 413; it is counted as it arrives, never held. */
  maxBodyBytes: positiveInt("bytes").default(1_048_576),
  /** Connections beyond this many are closed as they arrive. */
  maxConnections: positiveInt("connections").default(1024),
  /** A request whose headers have not all arrived after this long is answered 408 and cut. */
  headersTimeoutMs: positiveInt("milliseconds").default(10_000),
  /** … whose body has not all arrived (headers included); a response may take longer. */
  requestTimeoutMs: positiveInt("milliseconds").default(30_000),
  /** A kept-alive connection with no request for this long is closed. */
  keepAliveTimeoutMs: positiveInt("milliseconds").default(5000),
  /**
   * Peers whose `X-Forwarded-For` is believed (reverse proxies, by IP address); without
   * them the client address of the per-address limits is the socket's peer, so behind a
   * proxy every client shares the proxy's.
   */
  trustedProxies: z
    .array(z.string().refine((ip) => isIP(ip) !== 0, "expected an IP address such as 10.0.0.5"))
    .default([]),
  /** 2025-11-25 sessions (`Mcp-Session-Id`), each holding a server in this process. */
  sessions: z
    .strictObject({
      /** Sessions of agents (a valid bearer token, or register_agent called in the session). */
      max: positiveInt("sessions").default(10_000),
      /** An agent's session not heard from for this long is closed. */
      idleMs: positiveInt("milliseconds").default(1_800_000),
      /** Sessions not (yet) an agent: a budget of their own, so they never crowd agents out. */
      anonymous: z
        .strictObject({
          /** In all, on this process. */
          max: positiveInt("sessions").default(256),
          /** From one client address. */
          perAddress: positiveInt("sessions").default(16),
          /** Not heard from for this long: closed. */
          idleMs: positiveInt("milliseconds").default(60_000),
        })
        .prefault({}),
    })
    .prefault({}),
});

export type HttpLimits = z.infer<typeof HttpSchema>;

const PipelineFileSchema = z.strictObject({
  version: z.literal(1, { error: "expected `version: 1`" }),
  defaults: DefaultsSchema.prefault({}),
  stages: StagesSchema.prefault({}),
  limits: z
    .strictObject({
      /** The most bytes a message body may have, as JSON. */
      maxBodyBytes: positiveInt("bytes").default(65_536),
      /** Envelopes longer than this are stored deflate-compressed. */
      compressAboveBytes: positiveInt("bytes").default(8192),
      /** The most bytes an entry may hold as stored. */
      maxEncodedBytes: positiveInt("bytes").default(262_144),
      /** The most bytes an envelope may inflate to. */
      maxDecodedBytes: positiveInt("bytes").default(1_048_576),
      /** The deepest a body may nest arrays and objects inside one another. */
      maxBodyDepth: positiveInt("levels")
        .max(MAX_JSON_DEPTH, `at most ${MAX_JSON_DEPTH} levels`)
        .default(DEFAULT_MAX_BODY_DEPTH),
      /** Each agent's send rate, shared by every front end (RATE_LIMITED beyond it). */
      sendRate: SendRateSchema.prefault({}),
    })
    .prefault({}),
  dedupe: z
    .strictObject({
      /** How long a sender's idempotency key is remembered. */
      idempotencyWindowMs: positiveInt("milliseconds").default(86_400_000),
      /** How long "this message is in this inbox" is remembered, against redelivery. */
      deliveryWindowMs: positiveInt("milliseconds").default(86_400_000),
    })
    .prefault({}),
  history: z
    .strictObject({
      /** How long message records and thread indexes are kept after their last change. */
      retentionMs: positiveInt("milliseconds").default(7 * 86_400_000),
    })
    .prefault({}),
  health: z
    .strictObject({
      /** `/readyz` fails while a stage has more entries than this not yet handed to its group. */
      maxLag: positiveInt("entries").default(10_000),
      /** … or more entries than this handed out and not acknowledged. */
      maxPending: positiveInt("entries").default(10_000),
      /** How long `/readyz` and a scrape of the cluster gauges wait for Redis. */
      redisTimeoutMs: positiveInt("milliseconds").default(2000),
    })
    .prefault({}),
  agents: z
    .strictObject({
      /** An agent not heard from for this long turns from online to idle. */
      idleAfterMs: positiveInt("milliseconds").default(60_000),
      /** … and from idle to offline after this long. */
      offlineAfterMs: positiveInt("milliseconds").default(300_000),
      /** How often a front end checks for agents whose status should change. */
      sweepIntervalMs: positiveInt("milliseconds").default(5000),
    })
    .prefault({}),
  inbox: z
    .strictObject({
      /** A fetched message not acknowledged within this time is handed out again. */
      visibilityTimeoutMs: positiveInt("milliseconds").default(60_000),
      /** The most unacknowledged messages an agent's inbox may hold. */
      quota: positiveInt("messages").default(1000),
      /**
       * A message for a full inbox: `reject` marks it undeliverable for that agent and tells
       * the sender; `defer` retries it with the policy `retries.quota`, then dead-letters it
       * (and the sender is told).
       */
      overflow: z.enum(["reject", "defer"]).default("reject"),
    })
    .prefault({}),
  routing: z.strictObject({ rules: z.array(RoutingRuleSchema).default([]) }).prefault({}),
  deadLetters: z
    .strictObject({
      stream: streamName.default("dead"),
      /** Dead letters beyond this many are trimmed, oldest first. */
      maxLen: positiveInt("entries").default(100_000),
    })
    .prefault({}),
  /** Retry policies by name; a category whose strategy is `retry` uses the policy of its name. */
  retries: z
    .record(z.string().regex(/^[a-z][a-z0-9_-]{0,31}$/, "a policy name"), RetryPolicySchema)
    .default({}),
  errors: z
    .strictObject({
      /** Error category → what happens to the message. */
      strategies: StrategiesSchema.partial().default({}),
      history: z
        .strictObject({
          /** The error history keeps about this many of the latest errors. */
          maxLen: positiveInt("entries").default(10_000),
        })
        .prefault({}),
      escalation: z
        .strictObject({
          /** More errors than this within one window raise an alert. */
          errorRate: z
            .strictObject({
              threshold: positiveInt("errors").default(100),
              windowMs: positiveInt("milliseconds").default(60_000),
            })
            .prefault({}),
          /** Alerts are also POSTed here as JSON, if set. */
          alertWebhook: HttpUrlSchema.optional(),
        })
        .prefault({}),
    })
    .prefault({}),
  webhooks: z
    .strictObject({
      /** A webhook that has not answered within this time has failed (WEBHOOK_TIMEOUT). */
      timeoutMs: positiveInt("milliseconds").max(120_000).default(5000),
      /** Concurrent webhook requests per process. */
      concurrency: positiveInt("requests").max(1000).default(32),
      /**
       * False: webhook URLs on loopback, private, link-local or unique-local addresses are
       * refused at registration and at delivery (after DNS). Keep true for local development.
       */
      allowPrivateNetworks: z.boolean().default(true),
      breaker: z
        .strictObject({
          /** Consecutive failures of an endpoint that open its breaker. */
          failureThreshold: positiveInt("failures").default(5),
          /** How long an open breaker stops calls before one probe goes through. */
          cooldownMs: positiveInt("milliseconds").default(30_000),
        })
        .prefault({}),
    })
    .prefault({}),
  http: HttpSchema.prefault({}),
});

export interface StageDefinition {
  name: StageName;
  stream: string;
  group: string;
  /** The stream this stage forwards to, if any. */
  next: StageName | undefined;
  batchSize: number;
  blockMs: number;
  concurrency: number;
  claimIdleMs: number;
  janitorIntervalMs: number;
  maxDeliveries: number;
  retention: { maxAgeMs: number };
}

type PipelineFile = z.infer<typeof PipelineFileSchema>;

export interface Pipeline {
  /** Where it was read from, for messages. */
  source: string;
  stages: Readonly<Record<StageName, StageDefinition>>;
  limits: PipelineFile["limits"];
  dedupe: PipelineFile["dedupe"];
  history: PipelineFile["history"];
  health: PipelineFile["health"];
  deadLetters: PipelineFile["deadLetters"];
  agents: PipelineFile["agents"];
  inbox: PipelineFile["inbox"];
  routing: PipelineFile["routing"];
  retries: PipelineFile["retries"];
  errors: Omit<PipelineFile["errors"], "strategies"> & {
    strategies: Readonly<Record<ErrorCategory, Strategy>>;
  };
  webhooks: PipelineFile["webhooks"];
  http: HttpLimits;
}

function configError(source: string, message: string, field?: string): SwitchboardError {
  return new SwitchboardError(
    "CONFIG",
    `${source}: ${message}`,
    field === undefined ? {} : { field },
  );
}

/** Checks what one field cannot: windows that must outlast the redelivery horizon. */
function checkInvariants(pipeline: Pipeline): void {
  const { dedupe, limits } = pipeline;
  for (const stage of Object.values(pipeline.stages)) {
    const horizon = stage.claimIdleMs * stage.maxDeliveries;
    for (const [field, window] of Object.entries(dedupe)) {
      if (window < horizon) {
        throw configError(
          pipeline.source,
          `field \`dedupe.${field}\` (${window} ms) is shorter than the redelivery horizon of stage '${stage.name}' (claimIdleMs ${stage.claimIdleMs} × maxDeliveries ${stage.maxDeliveries} = ${horizon} ms), so a redelivered entry could be taken for a new one; raise it to at least ${horizon}`,
          `dedupe.${field}`,
        );
      }
    }
  }
  if (pipeline.agents.offlineAfterMs <= pipeline.agents.idleAfterMs) {
    throw configError(
      pipeline.source,
      `field \`agents.offlineAfterMs\` (${pipeline.agents.offlineAfterMs}) must be longer than \`agents.idleAfterMs\` (${pipeline.agents.idleAfterMs})`,
      "agents.offlineAfterMs",
    );
  }
  for (const [category, strategy] of Object.entries(pipeline.errors.strategies)) {
    if (strategy === "retry" && pipeline.retries[category] === undefined) {
      throw configError(
        pipeline.source,
        `field \`errors.strategies.${category}\` is \`retry\` but there is no retry policy \`retries.${category}\`; add one (attempts, delayMs) or choose dead_letter or drop`,
        `errors.strategies.${category}`,
      );
    }
  }
  if (limits.maxBodyBytes > limits.maxDecodedBytes) {
    throw configError(
      pipeline.source,
      `field \`limits.maxBodyBytes\` (${limits.maxBodyBytes}) exceeds \`limits.maxDecodedBytes\` (${limits.maxDecodedBytes}); a body that large could never be read back`,
      "limits.maxBodyBytes",
    );
  }
}

/** The `http` block: Node refuses a headers timeout past the request timeout; a body limit must fit a message. */
function checkHttpInvariants(pipeline: Pipeline): void {
  const { http, limits } = pipeline;
  if (http.headersTimeoutMs > http.requestTimeoutMs) {
    throw configError(
      pipeline.source,
      `field \`http.headersTimeoutMs\` (${http.headersTimeoutMs}) exceeds \`http.requestTimeoutMs\` (${http.requestTimeoutMs}); the whole request includes its headers, so lower it or raise requestTimeoutMs`,
      "http.headersTimeoutMs",
    );
  }
  if (http.maxBodyBytes <= limits.maxBodyBytes) {
    throw configError(
      pipeline.source,
      `field \`http.maxBodyBytes\` (${http.maxBodyBytes}) must exceed \`limits.maxBodyBytes\` (${limits.maxBodyBytes}): a message body at its limit comes wrapped in a JSON-RPC request`,
      "http.maxBodyBytes",
    );
  }
}

/** Validates a parsed pipeline document; `source` names it in errors. */
export function parsePipeline(document: unknown, source: string): Pipeline {
  const result = PipelineFileSchema.safeParse(document);
  if (!result.success) {
    throw configError(source, describeIssues(result.error), firstIssuePath(result.error));
  }
  const file = result.data;
  const stages = {} as Record<StageName, StageDefinition>;
  STAGE_NAMES.forEach((name, index) => {
    const override = file.stages[name];
    stages[name] = {
      name,
      stream: override.stream ?? name,
      group: override.group ?? name,
      next: STAGE_NAMES[index + 1],
      batchSize: override.batchSize ?? file.defaults.batchSize,
      blockMs: override.blockMs ?? file.defaults.blockMs,
      concurrency: override.concurrency ?? file.defaults.concurrency,
      claimIdleMs: override.claimIdleMs ?? file.defaults.claimIdleMs,
      janitorIntervalMs: override.janitorIntervalMs ?? file.defaults.janitorIntervalMs,
      maxDeliveries: override.maxDeliveries ?? file.defaults.maxDeliveries,
      retention: override.retention ?? file.defaults.retention,
    };
  });
  const pipeline: Pipeline = {
    source,
    stages,
    limits: file.limits,
    dedupe: file.dedupe,
    history: file.history,
    health: file.health,
    deadLetters: file.deadLetters,
    agents: file.agents,
    inbox: file.inbox,
    routing: file.routing,
    retries: { ...DEFAULT_RETRIES, ...file.retries },
    errors: { ...file.errors, strategies: { ...DEFAULT_STRATEGIES, ...file.errors.strategies } },
    webhooks: file.webhooks,
    http: file.http,
  };
  checkInvariants(pipeline);
  checkHttpInvariants(pipeline);
  return Object.freeze(pipeline);
}

/** Reads, parses and validates a pipeline file (YAML or JSON). */
export function loadPipeline(file: string = DEFAULT_PIPELINE_FILE): Pipeline {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (error) {
    throw configError(file, `cannot read the pipeline file: ${(error as Error).message}`);
  }
  let document: unknown;
  try {
    document = parseYaml(text, { prettyErrors: true });
  } catch (error) {
    throw configError(file, `not valid YAML: ${(error as Error).message}`);
  }
  return parsePipeline(document, file);
}
