import { createHash } from "node:crypto";
import { freePort, spawnProc, stopProc, waitAnswering, type Proc } from "./procs.js";

/** What the receiver answered for one message id. */
export interface Received {
  /** 503s answered. */
  failed: number;
  /** 2xx answered. */
  ok: number;
  /** Wall clock (epoch ms) of its first 2xx; 0 if none. */
  okAt: number;
}

export interface ReceiverStats {
  /** Message ids answered 2xx at least once. */
  delivered: number;
  /** Every POST answered. */
  posts: number;
}

/** The bench's webhook receiver, a child process (bench/webhook-receiver.ts). */
export interface Receiver {
  proc: Proc;
  /** Where the agents' webhooks point; an agent's name is appended as the path. */
  url: string;
  stats(): Promise<ReceiverStats>;
  /** Every message id it was sent, with what it answered. */
  log(): Promise<Map<string, Received>>;
  stop(): Promise<void>;
}

/**
 * Whether a message is one of the `percent` % whose first POST fails: decided by a hash of
 * its id, so the receiver and the benchmark agree without talking, and the clean runs can
 * follow the same tenth as the failing ones.
 */
export function failsFirst(messageId: string, percent: number): boolean {
  return createHash("sha1").update(messageId).digest().readUInt32BE(0) % 100 < percent;
}

const HOST = "127.0.0.1";
const SCRIPT = new URL("./webhook-receiver.ts", import.meta.url).pathname;

/** Starts a receiver that fails the first POST of `failPercent` % of the messages (0: none). */
export async function startReceiver(failPercent: number, label: string): Promise<Receiver> {
  const port = await freePort(HOST);
  const base = `http://${HOST}:${port}`;
  const proc = spawnProc(`receiver ${label}`, ["--import", "tsx", SCRIPT], {
    ...process.env,
    BENCH_RECEIVER_PORT: String(port),
    BENCH_FAIL_PERCENT: String(failPercent),
  });
  const get = async <T>(path: string): Promise<T> => {
    const response = await fetch(`${base}${path}`);
    if (!response.ok) throw new Error(`the receiver answered GET ${path} with ${response.status}`);
    return (await response.json()) as T;
  };
  const receiver: Receiver = {
    proc,
    url: `${base}/`,
    stats: () => get<ReceiverStats>("/stats"),
    async log() {
      const rows = await get<[string, number, number, number][]>("/log");
      return new Map(rows.map(([id, failed, ok, okAt]) => [id, { failed, ok, okAt }]));
    },
    async stop() {
      const code = await stopProc(proc);
      if (code !== 0)
        process.stderr.write(`bench: ${proc.name} exited with ${code ?? "a signal"}\n`);
    },
  };
  try {
    await waitAnswering(proc, new URL("/stats", base), 30_000);
    return receiver;
  } catch (error) {
    await receiver.stop();
    throw error;
  }
}
