import { setTimeout as delay } from "node:timers/promises";
import { serversOf, type RedisClient } from "../src/redis/client.js";
import { assertAlive, progress, type Proc } from "./procs.js";
import * as rt from "./redis-tools.js";

export interface DoneWait {
  admin: RedisClient;
  streams: readonly { key: string; group: string }[];
  procs: readonly Proc[];
  /** Messages that must arrive, warm-up included. */
  expected: number;
  /** How many have arrived so far (sends only commands it counts in `own`). */
  arrived: () => Promise<number>;
  /** Where they arrive, for messages: "in the inboxes". */
  where: string;
  /**
   * Every stage idle this long with messages missing: they were refused on the way
   * (default 3 s). Infinity where a BullMQ queue may still hold them (webhook pushes).
   */
  idleGiveUpMs?: number;
  /** Between polls; default 5 ms while the stages are idle, 20 ms while they are busy. */
  pollMs?: number;
  own: rt.OwnCommands;
  label: string;
  timeoutMs: number;
}

/** How a benchmark tells that its messages arrived. */
export type Arrival = Pick<DoneWait, "where" | "arrived" | "idleGiveUpMs" | "pollMs">;

/**
 * Until each worker has `loops` connections whose last command was XREADGROUP (its
 * consumer names hold its pid). XINFO cannot tell: Redis 7.0 creates a consumer only
 * when a read returns entries.
 */
export async function waitForReaders(admin: RedisClient, procs: readonly Proc[], loops: number) {
  const deadline = performance.now() + 30_000;
  for (;;) {
    assertAlive(procs);
    const lists = await Promise.all(serversOf(admin).map((server) => server.client("LIST")));
    const clients = lists.join("\n");
    const reading = procs.map((proc) => {
      const mine = new RegExp(`^.* name=\\S*-${proc.pid}-\\S* .* cmd=xreadgroup`, "gm");
      return clients.match(mine)?.length ?? 0;
    });
    if (reading.every((n) => n >= loops)) return;
    if (performance.now() > deadline) {
      const counts = procs.map((p, i) => `${p.name} ${reading[i]}/${loops}`).join(", ");
      throw new Error(`workers did not start reading within 30 s: ${counts}`);
    }
    await delay(50);
  }
}

/**
 * Until `expected` messages have arrived and every stage group has nothing left to
 * read or acknowledge (so persist is done too). Fails when a worker dies or on timeout.
 */
export async function waitUntilDone(o: DoneWait): Promise<void> {
  const { admin, streams, procs, expected, own, label, where } = o;
  const giveUpMs = o.idleGiveUpMs ?? 3000;
  const start = performance.now();
  let counted = -1;
  let countedAt = 0;
  let reportedAt = start;
  let idleSince: number | undefined;
  for (;;) {
    assertAlive(procs);
    const groups = await rt.groupStates(admin, streams, own);
    const idle = groups.every((g) => g.pending === 0 && g.lag === 0);
    const now = performance.now();
    if (idle || now - countedAt > 1000) {
      counted = await o.arrived();
      countedAt = now;
      if (counted > expected) {
        throw new Error(`${counted} messages ${where}, more than the ${expected} sent`);
      }
      if (idle && counted === expected) return;
    }
    idleSince = idle ? (idleSince ?? now) : undefined;
    if (idleSince !== undefined && now - idleSince > giveUpMs) {
      throw new Error(
        `${label}: every stage is idle but only ${counted} of ${expected} messages (warm-up ` +
          `included) are ${where}: the rest were refused on the way (rejected, ` +
          "undeliverable or dead-lettered; their message records say why)",
      );
    }
    if (now - start > o.timeoutMs) {
      const state = groups.map((g) => `${g.stream}: pending ${g.pending}, lag ${g.lag}`);
      throw new Error(
        `${label}: only ${counted} of ${expected} messages (warm-up included) are ${where} ` +
          `within ${Math.round(o.timeoutMs / 1000)} s of the last accept; ${state.join("; ")}`,
      );
    }
    if (now - reportedAt > 5000) {
      progress(`${label}: ${counted}/${expected} ${where}`);
      reportedAt = now;
    }
    await delay(o.pollMs ?? (idle ? 5 : 20));
  }
}
