import fc from "fast-check";

/**
 * Seeded tool arguments for the fuzzer (test/e2e/fuzz-tools.test.ts). Each call starts from
 * arguments that fit the tool's advertised JSON Schema (and the few rules a schema cannot
 * say, such as "exactly one target"), so that a mutation of one field is what the server
 * meets: a value of the wrong type, a huge string, an extreme number, deep nesting,
 * prototype-ish keys, odd unicode, an id past the edge of its range, nothing. From a PRNG,
 * so that a seed reproduces a run.
 */

/** The parts of a JSON Schema that the tools' input schemas use. */
export interface JsonSchema {
  type?: string;
  properties?: Record<string, JsonSchema>;
  required?: string[];
  items?: JsonSchema;
  enum?: unknown[];
  pattern?: string;
  minimum?: number;
  maximum?: number;
  maxLength?: number;
  minItems?: number;
  maxItems?: number;
  $ref?: string;
  anyOf?: JsonSchema[];
}

/** mulberry32: small, fast, and the same sequence for the same seed everywhere. */
export class Prng {
  #state: number;

  constructor(seed: number) {
    this.#state = seed >>> 0;
  }

  next(): number {
    this.#state = (this.#state + 0x6d2b79f5) >>> 0;
    let t = this.#state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  }

  int(lo: number, hi: number): number {
    return lo + Math.floor(this.next() * (hi - lo + 1));
  }

  chance(p: number): boolean {
    return this.next() < p;
  }

  pick<T>(items: readonly T[]): T {
    return items[Math.floor(this.next() * items.length)]!;
  }
}

/** Values seen or made during the run, used as valid arguments (existing agents, ids). */
export interface Known {
  names: string[];
  messageIds: string[];
  threadIds: string[];
  topics: string[];
  inboxIds: string[];
}

const PROTOTYPE_KEYS = ["__proto__", "constructor", "prototype", "toString", "hasOwnProperty"];
const UNICODE = [
  "",
  " ",
  "é",
  "日本語",
  "🦀🧵",
  "\u200b",
  "\u202eevil",
  "\ud800",
  "a\u0000b",
  "\ufeff",
];
const NUMBERS = [0, -0, -1, 0.5, 1e-300, 1e15, 1e308, -1e308, 2 ** 53 + 2, 2 ** 64, NaN, Infinity];
const MAX_ID = "18446744073709551615";
const STREAM_IDS = [
  "0",
  "0-0",
  `${MAX_ID}-${MAX_ID}`,
  `${MAX_ID}-0`,
  "18446744073709551616-0",
  `0-${"18446744073709551616"}`,
  "99999999999999999999-99999999999999999999",
  "1-",
  "-1",
  "1e3-0",
];
/** Deep enough to overflow an unguarded recursive parse, shallow enough to serialize. */
const DEPTHS = [65, 257, 1000, 2000, 3000];

/** Fields that make a call wait for mail: given rarely, and only the shortest waits. */
const WAITS = new Set(["wait_seconds", "await_reply_seconds"]);
/** Exactly one of these is given (a rule no JSON Schema here says). */
const ONE_OF: Record<string, string[]> = {
  send_message: ["to", "capability", "broadcast", "topic"],
  dlq_replay: ["ids", "all"],
  dlq_purge: ["ids", "all"],
  clear_loop: ["thread_id", "pair"],
};

function nested(depth: number, asObject: boolean): unknown {
  let value: unknown = "deep";
  for (let i = 0; i < depth; i += 1) value = asObject ? { a: value } : [value];
  return value;
}

export class ArgsFuzzer {
  readonly #rng: Prng;
  readonly #known: Known;
  readonly #seed: number;
  readonly #patterns = new Map<string, string[]>();

  constructor(rng: Prng, known: Known, seed: number) {
    this.#rng = rng;
    this.#known = known;
    this.#seed = seed;
  }

  /** Arguments for a tool: valid per its schema, then (most of the time) mutated. */
  args(tool: string, schema: JsonSchema): Record<string, unknown> {
    const rng = this.#rng;
    const args = this.#baseline(tool, schema);
    const mutations = rng.chance(0.15) ? 0 : rng.pick([1, 1, 1, 1, 1, 1, 1, 2, 2, 3]);
    for (let i = 0; i < mutations; i += 1) this.#mutate(args, schema);
    return args;
  }

  /** The required fields and a few optional ones, valid, one target where one is needed. */
  #baseline(tool: string, schema: JsonSchema): Record<string, unknown> {
    const rng = this.#rng;
    const properties = schema.properties ?? {};
    const required = new Set(schema.required ?? []);
    const exclusive = ONE_OF[tool] ?? [];
    const out: Record<string, unknown> = {};
    for (const [field, sub] of Object.entries(properties)) {
      if (exclusive.includes(field) || field === "mode") continue;
      const chance = WAITS.has(field) ? 0.05 : 0.3; // calls that wait are slow: few, and short
      if (required.has(field) || rng.chance(chance)) out[field] = this.#value(field, sub);
    }
    if (exclusive.length > 0) {
      const target = rng.pick(exclusive);
      out[target] =
        target === "broadcast" || target === "all"
          ? true
          : this.#value(target, properties[target]!);
      if (target === "capability" && rng.chance(0.5)) out.mode = rng.pick(["any", "all"]);
      if (target === "ids")
        for (const k of Object.keys(out)) if (!required.has(k) && k !== "ids") delete out[k];
    }
    return out;
  }

  #mutate(args: Record<string, unknown>, schema: JsonSchema): void {
    const rng = this.#rng;
    const properties = schema.properties ?? {};
    const present = Object.keys(args);
    const fields = Object.keys(properties);
    const field =
      present.length > 0 && rng.chance(0.7)
        ? rng.pick(present)
        : fields.length > 0
          ? rng.pick(fields)
          : undefined;
    const kind = rng.int(0, 9);
    if (field !== undefined && WAITS.has(field) && kind <= 5) {
      args[field] = rng.pick([-1, 0.001, 1.5, 61, 1e308, NaN, "5", null]); // never a long wait
    } else if (field !== undefined && kind <= 5) {
      args[field] = rng.chance(0.7) ? this.#extreme(properties[field] ?? {}) : this.weird();
    } else if (kind <= 7) {
      const key = rng.chance(0.7) ? rng.pick(PROTOTYPE_KEYS) : "extra";
      Object.defineProperty(args, key, {
        value: this.weird(),
        enumerable: true,
        configurable: true,
        writable: true,
      });
    } else if (field !== undefined) {
      delete args[field];
    }
  }

  /** A value of the field's own type, past or at its edges. */
  #extreme(schema: JsonSchema): unknown {
    const rng = this.#rng;
    switch (schema.type) {
      case "integer":
      case "number": {
        const edges = [schema.minimum, schema.maximum].filter((n): n is number => n !== undefined);
        return rng.pick([...NUMBERS, ...edges.flatMap((n) => [n - 1, n, n + 1, n + 0.5])]);
      }
      case "string":
        return rng.pick([
          () => rng.pick(STREAM_IDS),
          () => rng.pick(UNICODE),
          () =>
            "x".repeat(
              rng.chance(0.05) ? 1_000_000 : (schema.maxLength ?? 256) + rng.int(1, 20_000),
            ),
          () =>
            schema.pattern === undefined
              ? ""
              : `${this.#matching(schema.pattern)}${rng.pick(["!", "{x}", "\n", " "])}`,
          () => (schema.pattern === undefined ? "A" : this.#matching(schema.pattern).toUpperCase()),
        ])();
      case "array":
        return rng.pick([
          () => [],
          () =>
            Array.from({ length: (schema.maxItems ?? 100) + 1 }, () =>
              this.#value("", schema.items ?? {}),
            ),
          () => [this.#extreme(schema.items ?? {})],
          () => nested(rng.pick(DEPTHS), false),
        ])();
      case "boolean":
        return rng.pick(["true", 1, 0, null, "false"]);
      default: // a JSON value or an object: deep, prototype-ish, or large
        return rng.pick([
          () => nested(rng.pick(DEPTHS), rng.chance(0.5)),
          () => JSON.parse(`{"${rng.pick(PROTOTYPE_KEYS)}": {"polluted": true}}`) as unknown,
          () => ({ big: "y".repeat(rng.int(5000, 80_000)) }),
          () => Array.from({ length: rng.int(100, 3000) }, (_, i) => ({ [`k${i}`]: i })),
        ])();
    }
  }

  /** Something no schema expects, of any kind. */
  weird(): unknown {
    const rng = this.#rng;
    return rng.pick([
      () => rng.pick(NUMBERS),
      () => rng.pick(UNICODE),
      () => "x".repeat(rng.int(1000, 20_000)),
      () => nested(rng.pick(DEPTHS), rng.chance(0.5)),
      () => rng.pick([null, true, false, [], {}, [null], ""]),
      () => JSON.parse(`{"${rng.pick(PROTOTYPE_KEYS)}": {"polluted": true}}`) as unknown,
      () => rng.pick(STREAM_IDS),
      () => [rng.pick(STREAM_IDS)],
      () => Array.from({ length: rng.int(0, 300) }, () => rng.pick(UNICODE)),
      () => rng.pick(["bob", "0", "true", "null", "NaN", "-1", "1e400", "{}", "[]"]),
    ])();
  }

  #value(field: string, schema: JsonSchema): unknown {
    const rng = this.#rng;
    const known = this.#knownValue(field);
    if (known !== undefined && (WAITS.has(field) || rng.chance(0.7))) return known;
    if (schema.enum !== undefined) return rng.pick(schema.enum);
    if (schema.$ref !== undefined || schema.anyOf !== undefined) return this.#json(3);
    switch (schema.type) {
      case "string":
        return schema.pattern === undefined
          ? this.#text(schema.maxLength)
          : this.#matching(schema.pattern);
      case "integer":
        return rng.int(schema.minimum ?? 0, Math.min(schema.maximum ?? 1000, 1000));
      case "number":
        return (schema.minimum ?? 0) + rng.next();
      case "boolean":
        return rng.chance(0.8);
      case "array": {
        const n = rng.int(Math.max(1, schema.minItems ?? 0), Math.min(schema.maxItems ?? 3, 3));
        return Array.from({ length: n }, () => this.#value(field, schema.items ?? {}));
      }
      case "object":
        return { a: this.#json(2) };
      default:
        return this.#json(2);
    }
  }

  /** Values that make calls do something: existing agents, ids seen, short waits. */
  #knownValue(field: string): unknown {
    const rng = this.#rng;
    const k = this.#known;
    const from = (list: string[]) => (list.length === 0 ? undefined : rng.pick(list));
    switch (field) {
      case "to":
        return [from(k.names)];
      case "name":
      case "agent":
        return from(k.names);
      case "message_id":
      case "reply_to":
        return from(k.messageIds);
      case "message_ids":
        return k.messageIds.length === 0 ? undefined : [from(k.messageIds)];
      case "thread_id":
        return from(k.threadIds);
      case "topic":
        return from(k.topics);
      case "after":
        return from(["0", ...k.inboxIds]);
      case "webhook_url":
        return "http://127.0.0.1:9/hook"; // refused at once: nothing leaves the machine
      case "wait_seconds":
        return rng.pick([0, 0.05]);
      case "await_reply_seconds":
        return 1;
      default:
        return undefined;
    }
  }

  #text(maxLength = 64): string {
    const rng = this.#rng;
    const length = rng.int(0, Math.min(maxLength, 40));
    return Array.from({ length }, () => rng.pick(["a", "b", " ", "é", "1", "-", "🦀"])).join("");
  }

  /** A string matching a pattern, from a pool sampled once per pattern. */
  #matching(pattern: string): string {
    let pool = this.#patterns.get(pattern);
    if (pool === undefined) {
      pool = fc.sample(fc.stringMatching(new RegExp(pattern)), { seed: this.#seed, numRuns: 30 });
      this.#patterns.set(pattern, pool);
    }
    return this.#rng.pick(pool);
  }

  #json(depth: number): unknown {
    const rng = this.#rng;
    if (depth <= 0 || rng.chance(0.4)) return rng.pick([1, "text", true, null, 2.5, "🦀"]);
    return rng.chance(0.5)
      ? Array.from({ length: rng.int(0, 3) }, () => this.#json(depth - 1))
      : { k: this.#json(depth - 1), n: rng.int(0, 9) };
  }
}
