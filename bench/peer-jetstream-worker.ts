/**
 * The NATS JetStream peer chain of `npm run bench -- --peers`: each hop's durable pull
 * consumer (validate → route → deliver → persist), all in this one process. A message is
 * decoded, gets the hop's work (bench/peer-hops.ts) and is published to the next hop's
 * subject, waiting for the stream's acknowledgement, before it is acknowledged itself;
 * deliver publishes to the recipient's inbox subject, persist to the status subject. Each
 * consumer's messages are handled concurrently, as many as it hands out unacknowledged.
 *
 * Environment: NATS_URL, BENCH_NATS_NAME (the run's streams and subjects, made and deleted
 * by the benchmark). Runs until SIGTERM.
 */
import { jetstream, type JsMsg } from "@nats-io/jetstream";
import { connect } from "@nats-io/transport-node";
import type { Envelope } from "../src/protocol/envelope.js";
import { HOPS, nextHop, route, status, validate, type HopName, type Routed } from "./peer-hops.js";
import { NATS_URL, streamOf, subjectOf } from "./peer-jetstream.js";

const name = process.env.BENCH_NATS_NAME ?? "bench";
const nc = await connect({ servers: NATS_URL });
const js = jetstream(nc);

/** Publishes the hop's result to the next hop's subject and waits for the stream to have it. */
async function handOn(hop: HopName, data: Envelope | Routed): Promise<void> {
  const next = nextHop(hop);
  if (next !== undefined) await js.publish(subjectOf(name, next), JSON.stringify(data));
}

const handlers: Record<HopName, (m: JsMsg) => Promise<void>> = {
  async validate(m) {
    await handOn("validate", validate(m.json()));
  },
  async route(m) {
    await handOn("route", route(m.json<Envelope>()));
  },
  async deliver(m) {
    const routed = m.json<Routed>();
    const inbox = subjectOf(name, `inbox.${routed.recipient}`);
    await js.publish(inbox, JSON.stringify(routed.envelope));
    await handOn("deliver", routed);
  },
  async persist(m) {
    await js.publish(subjectOf(name, "status"), JSON.stringify(status(m.json<Routed>())));
  },
};

function fail(hop: HopName, error: unknown): never {
  process.stderr.write(`${hop}: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
}

async function work(hop: HopName): Promise<void> {
  const consumer = await js.consumers.get(streamOf(name, hop), hop);
  for await (const m of await consumer.consume()) {
    void handlers[hop](m).then(
      () => m.ack(),
      (error: unknown) => fail(hop, error),
    );
  }
}

process.on("SIGTERM", () => {
  // Nothing is in flight once the benchmark stops us: every message is persisted.
  process.exit(0);
});

await Promise.all(HOPS.map((hop) => work(hop).catch((error: unknown) => fail(hop, error))));
