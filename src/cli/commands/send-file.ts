import { createReadStream } from "node:fs";
import { stat } from "node:fs/promises";
import { createInterface } from "node:readline";
import type { Readable } from "node:stream";
import { Registry } from "../../agents/registry.js";
import type { Pipeline } from "../../config/pipeline.js";
import { Ingress } from "../../ingress/ingress.js";
import { SYSTEM_AGENT } from "../../protocol/agent.js";
import { composeEnvelope, type SendRequest } from "../../protocol/compose.js";
import type { Envelope } from "../../protocol/envelope.js";
import { SwitchboardError } from "../../protocol/errors.js";
import { checkBody } from "../../protocol/json-value.js";
import { describeError, usageError } from "../errors.js";
import type { GlobalOptions } from "../options.js";
import { splitList } from "../options.js";
import { ProgressBar } from "../progress.js";
import { withRuntime } from "../runtime.js";
import { formatCount, plural } from "../../protocol/words.js";

/** Envelopes appended per round trip. */
const BATCH_SIZE = 500;

export interface SendFileOptions {
  /** A path, or `-` for stdin. */
  file: string;
  /** The sender of lines without `from`. */
  defaultFrom: string | undefined;
  json: boolean;
}

export interface SendFileSummary {
  sent: number;
  rejected: number;
  /** Lines read, blank ones included. */
  lines: number;
  seconds: number;
  rate: number;
}

interface Input {
  stream: Readable;
  /** Bytes in the file; undefined for stdin. */
  size: number | undefined;
}

/**
 * Sends every line of a JSONL file in batches. A bad line is reported on stderr with its
 * number and counted; it never stops the run. Prints a summary line (or JSON) on stdout.
 */
export async function sendFile(
  globals: GlobalOptions,
  options: SendFileOptions,
): Promise<SendFileSummary> {
  const size = await inputSize(options.file);
  const summary = await withRuntime(globals, (runtime) =>
    sendLines(
      new Ingress(runtime.redis, runtime.keys, runtime.pipeline),
      new Registry(runtime.redis, runtime.keys, runtime.pipeline),
      openInput(options.file, size),
      { defaultFrom: options.defaultFrom, limits: runtime.pipeline.limits },
    ),
  );
  process.stdout.write(
    options.json ? `${JSON.stringify(summary)}\n` : `${describeSummary(summary)}\n`,
  );
  return summary;
}

async function inputSize(file: string): Promise<number | undefined> {
  if (file === "-") return undefined;
  try {
    return (await stat(file)).size;
  } catch (error) {
    throw usageError(`cannot read --file ${file}: ${(error as Error).message}`, "--file");
  }
}

function openInput(file: string, size: number | undefined): Input {
  return file === "-"
    ? { stream: process.stdin, size: undefined }
    : { stream: createReadStream(file), size };
}

export function describeSummary(s: SendFileSummary): string {
  return `sent ${plural(s.sent, "message")} (${plural(s.rejected, "rejected line")}) in ${s.seconds.toFixed(2)} s, ${formatCount(s.rate)} msg/s`;
}

interface LineRules {
  /** The sender of lines that name none. */
  defaultFrom: string | undefined;
  /** The pipeline's `limits`: a body over them is refused at its line, as send_message refuses it. */
  limits: Pipeline["limits"];
}

async function sendLines(
  ingress: Ingress,
  registry: Registry,
  input: Input,
  rules: LineRules,
): Promise<SendFileSummary> {
  const started = Date.now();
  const progress = new ProgressBar(process.stderr, input.size);
  const state = { sent: 0, rejected: 0, lines: 0, bytes: 0 };
  const reject = (line: number, error: unknown): void => {
    state.rejected += 1;
    progress.log(`line ${line}: ${describeError(error)}`);
  };
  let batch: Pending[] = [];
  const reader = createInterface({ input: input.stream, crlfDelay: Infinity });
  try {
    for await (const text of reader) {
      state.lines += 1;
      state.bytes += Buffer.byteLength(text) + 1;
      if (text.trim() !== "") {
        try {
          const envelope = composeEnvelope(requestFromLine(text, rules.defaultFrom));
          checkBody(envelope.body, rules.limits);
          batch.push({ line: state.lines, envelope });
        } catch (error) {
          reject(state.lines, error);
        }
      }
      if (batch.length >= BATCH_SIZE) {
        state.sent += await acceptBatch(
          ingress,
          await withKnownAgents(registry, batch, reject),
          reject,
        );
        batch = [];
      }
      progress.update({ items: state.lines, done: state.bytes });
    }
    state.sent += await acceptBatch(
      ingress,
      await withKnownAgents(registry, batch, reject),
      reject,
    );
  } finally {
    reader.close();
    progress.finish();
  }
  const seconds = (Date.now() - started) / 1000;
  return {
    sent: state.sent,
    rejected: state.rejected,
    lines: state.lines,
    seconds: Math.round(seconds * 1000) / 1000,
    rate: Math.round(seconds > 0 ? state.sent / seconds : state.sent),
  };
}

interface Pending {
  line: number;
  envelope: Envelope;
}

/**
 * The lines whose sender and named recipients are all registered; the others are rejected,
 * as send_message would (and as `switchboard send --from` refuses an unregistered sender).
 */
async function withKnownAgents(
  registry: Registry,
  batch: readonly Pending[],
  reject: (line: number, error: unknown) => void,
): Promise<Pending[]> {
  const named = (p: Pending) => (p.envelope.to.kind === "agents" ? p.envelope.to.agents : []);
  const everyone = new Set(batch.flatMap((p) => [p.envelope.from, ...named(p)]));
  const unknown = new Set(await registry.unknown([...everyone]));
  if (unknown.size === 0) return [...batch];
  return batch.filter((p) => {
    const { from } = p.envelope;
    if (unknown.has(from) || from === SYSTEM_AGENT) {
      reject(
        p.line,
        new SwitchboardError(
          "NOT_FOUND",
          `sender '${from}' is not a registered agent; register it first: switchboard agents register ${from}`,
          { field: "from" },
        ),
      );
      return false;
    }
    const missing = named(p).filter((agent) => unknown.has(agent));
    if (missing.length === 0) return true;
    const names = missing.map((n) => `'${n}'`).join(", ");
    reject(
      p.line,
      new SwitchboardError(
        "NOT_FOUND",
        `no agent named ${names}; register it first: switchboard agents register NAME`,
        { field: "to" },
      ),
    );
    return false;
  });
}

/**
 * Appends a batch in one round trip and returns how many were accepted. Ingress encodes (and
 * size-checks) every envelope before writing any, so when one is too large nothing was
 * written: the batch is then sent one by one, to reject only the lines at fault.
 */
async function acceptBatch(
  ingress: Ingress,
  batch: readonly Pending[],
  reject: (line: number, error: unknown) => void,
): Promise<number> {
  if (batch.length === 0) return 0;
  try {
    await ingress.acceptMany(batch.map((item) => item.envelope));
    return batch.length;
  } catch (error) {
    if (!isTooLarge(error)) throw error;
  }
  let accepted = 0;
  for (const item of batch) {
    try {
      await ingress.accept(item.envelope);
      accepted += 1;
    } catch (error) {
      if (!isTooLarge(error)) throw error;
      reject(item.line, error);
    }
  }
  return accepted;
}

function isTooLarge(error: unknown): boolean {
  return error instanceof SwitchboardError && error.code === "TOO_LARGE";
}

/** One JSONL line as a send request: `to` may be a string, `from` defaults to `--from`. */
export function requestFromLine(text: string, defaultFrom: string | undefined): SendRequest {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw usageError(`not valid JSON: ${(error as Error).message}`);
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw usageError("expected a JSON object with `from`, `to` and `body`");
  }
  const request = { ...value } as Record<string, unknown>;
  if (request.from === undefined && defaultFrom !== undefined) request.from = defaultFrom;
  if (typeof request.to === "string") request.to = splitList(request.to);
  return request as SendRequest;
}
