/**
 * The NATS JetStream peer of `npm run bench -- --peers`, the benchmark's side: a stream per
 * hop (work-queue retention) with a durable pull consumer each, a stream of inboxes (a
 * subject per recipient) and one of statuses, all in memory like the benchmark's Redis
 * (no persistence); the producer; the worker process (bench/peer-jetstream-worker.ts).
 * The streams are deleted after.
 */
import { randomBytes } from "node:crypto";
import { readdirSync, readFileSync } from "node:fs";
import {
  AckPolicy,
  jetstream,
  jetstreamManager,
  RetentionPolicy,
  StorageType,
  type JetStreamManager,
} from "@nats-io/jetstream";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import type { Envelope } from "../src/protocol/envelope.js";
import { PRODUCE_BATCH, type AcceptedTimes } from "./load.js";
import { HOPS, type Status } from "./peer-hops.js";
import type { Chain, OpenChain } from "./peer-measure.js";
import { spawnProc, stopAll, type Proc } from "./procs.js";

/** Where the NATS server is: NATS_URL, else the default port on this host. */
export const NATS_URL = process.env.NATS_URL || "nats://127.0.0.1:4222";

/**
 * Messages each hop's consumer hands out before some are acknowledged: the worker
 * handles that many at once.
 * @defaultValue 1000 (the server's default)
 */
export const JETSTREAM_MAX_ACK_PENDING = 1000;

const WORKER = new URL("./peer-jetstream-worker.ts", import.meta.url).pathname;

/** The streams and subjects of a run named `name` (also used by the worker). */
export const streamOf = (name: string, part: string) => `${name}-${part}`;
export const subjectOf = (name: string, part: string) => `${name}.${part}`;

/** Connects to NATS with JetStream enabled; otherwise says why not. */
export async function connectJetStream(url: string): Promise<NatsConnection | string> {
  let nc: NatsConnection | undefined;
  try {
    nc = await connect({ servers: url, timeout: 2000, reconnect: false });
    await (await jetstreamManager(nc)).getAccountInfo();
    return nc;
  } catch (error) {
    await nc?.close();
    return `no NATS server with JetStream answered at ${url} (${(error as Error).message}); start one (nats-server -js) or set NATS_URL`;
  }
}

/** The local `nats-server` process when there is exactly one, for its CPU time. */
function natsServerProcess(): Pick<Proc, "pid"> | undefined {
  const pids = readdirSync("/proc").filter((entry) => {
    if (!/^\d+$/.test(entry)) return false;
    try {
      return readFileSync(`/proc/${entry}/comm`, "utf8").trim() === "nats-server";
    } catch {
      return false;
    }
  });
  return pids.length === 1 ? { pid: Number(pids[0]) } : undefined;
}

async function addStreams(jsm: JetStreamManager, name: string): Promise<void> {
  const memory = { storage: StorageType.Memory, num_replicas: 1 };
  for (const hop of HOPS) {
    const stream = streamOf(name, hop);
    await jsm.streams.add({
      ...memory,
      name: stream,
      subjects: [subjectOf(name, hop)],
      retention: RetentionPolicy.Workqueue,
    });
    await jsm.consumers.add(stream, {
      durable_name: hop,
      ack_policy: AckPolicy.Explicit,
      max_ack_pending: JETSTREAM_MAX_ACK_PENDING,
    });
  }
  await jsm.streams.add({
    ...memory,
    name: streamOf(name, "inbox"),
    subjects: [subjectOf(name, "inbox.*")],
  });
  await jsm.streams.add({
    ...memory,
    name: streamOf(name, "status"),
    subjects: [subjectOf(name, "status")],
  });
}

export function jetStreamChain(nc: NatsConnection): Chain {
  return {
    key: "jetstream",
    name: "NATS JetStream, a stream and pull consumer per hop",
    async open(): Promise<OpenChain> {
      const name = `bench-${randomBytes(4).toString("hex")}`;
      const js = jetstream(nc);
      const jsm = await jetstreamManager(nc);
      const streams = [...HOPS, "inbox", "status"].map((part) => streamOf(name, part));
      const close = async () => {
        await stopAll();
        const present: string[] = [];
        for await (const stream of jsm.streams.names())
          if (streams.includes(stream)) present.push(stream);
        for (const stream of present) await jsm.streams.delete(stream);
      };
      try {
        await addStreams(jsm, name);
      } catch (error) {
        await close();
        throw error;
      }
      const proc = spawnProc("jetstream", ["--import", "tsx", WORKER], {
        ...process.env,
        NATS_URL: nc.getServer(),
        BENCH_NATS_NAME: name,
      });
      const first = subjectOf(name, HOPS[0]);
      return {
        procs: [proc],
        broker: natsServerProcess(),
        async produce(messages: readonly Envelope[]): Promise<AcceptedTimes> {
          const accepted: AcceptedTimes = new Map();
          for (let i = 0; i < messages.length; i += PRODUCE_BATCH) {
            await Promise.all(
              messages.slice(i, i + PRODUCE_BATCH).map(async (envelope) => {
                await js.publish(first, JSON.stringify(envelope));
                accepted.set(envelope.id, Date.now());
              }),
            );
          }
          return accepted;
        },
        async inFlight(): Promise<number> {
          const infos = await Promise.all(
            HOPS.map((hop) => jsm.consumers.info(streamOf(name, hop), hop)),
          );
          return infos.reduce((sum, c) => sum + c.num_pending + c.num_ack_pending, 0);
        },
        async persistedAt(ids: readonly string[]): Promise<Map<string, number>> {
          const wanted = new Set(ids);
          const at = new Map<string, number>();
          const stream = streamOf(name, "status");
          const total = (await jsm.streams.info(stream)).state.messages;
          if (total === 0) return at;
          const messages = await (await js.consumers.get(stream)).consume();
          let seen = 0;
          for await (const m of messages) {
            const status = m.json<Status>();
            if (wanted.has(status.id)) at.set(status.id, status.at);
            seen += 1;
            if (seen >= total) break;
          }
          await messages.close();
          return at;
        },
        close,
      };
    },
  };
}
