import { crc32 } from "node:zlib";
import type { RedisClient } from "../redis/client.js";
import type { Pipeline } from "../config/pipeline.js";
import { toErrorInfo } from "../protocol/errors.js";
import type { Keys } from "../redis/keys.js";
import { Lease } from "../streams/lease.js";
import type { Logger } from "../telemetry/log.js";

/** What runs a partition while this process owns it. */
export interface OwnedPart {
  start(): Promise<void>;
  stop(): Promise<void>;
}

export interface OwnershipOptions {
  redis: RedisClient;
  keys: Keys;
  pipeline: Pipeline;
  /** The partitions this process may own (`--partitions`, or all). */
  partitions: readonly number[];
  /** This process's name among the owners. */
  name: string;
  /** Builds what runs a partition under its lease. */
  part: (partition: number, lease: Lease) => OwnedPart;
  log: Logger;
}

/**
 * `ordering: thread`: each partition has one owning worker at a time. Every `leaseMs / 4`
 * a worker renews its leases, counts the live workers and takes or gives up partitions
 * until it holds its fair share (the partitions over the workers, rounded up): a worker
 * that joins gets partitions from the others, and a dead one's move on once its leases
 * expire. A partition given up is stopped (its batches commit) before its lease goes.
 */
export class Ownership {
  readonly #o: OwnershipOptions;
  readonly #held = new Map<number, { lease: Lease; part: OwnedPart }>();
  readonly #stopping = new Set<Promise<void>>();
  #timer: NodeJS.Timeout | undefined;
  #tick: Promise<void> = Promise.resolve();
  #stopped = false;

  constructor(options: OwnershipOptions) {
    this.#o = options;
  }

  /** The partitions owned now. */
  get owned(): number[] {
    return [...this.#held.keys()].sort((a, b) => a - b);
  }

  async start(): Promise<void> {
    await this.balance();
    const interval = this.#o.pipeline.ownership.leaseMs / 4;
    this.#timer = setInterval(() => {
      this.#tick = this.#tick.then(() => this.balance());
    }, interval);
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    clearInterval(this.#timer);
    await this.#tick;
    await Promise.all([...this.#held.keys()].map((p) => this.#giveUp(p)));
    await Promise.all(this.#stopping);
    await this.#o.redis.zrem(this.#o.keys.owners(), this.#o.name).catch(() => undefined);
  }

  /** One round: renew, count the workers, give up or take partitions to the fair share. */
  async balance(now = Date.now()): Promise<void> {
    if (this.#stopped) return;
    const { redis, keys, pipeline, name, log } = this.#o;
    try {
      const { leaseMs } = pipeline.ownership;
      const [, , live] = (await redis
        .multi()
        .zadd(keys.owners(), now, name)
        .zremrangebyscore(keys.owners(), "-inf", now - 2 * leaseMs)
        .zcard(keys.owners())
        .exec())!.map(([, reply]) => Number(reply));
      for (const [partition, { lease }] of this.#held) {
        if (!(await lease.renew())) this.#lost(partition);
      }
      const share = Math.ceil(pipeline.partitions / Math.max(1, live!));
      for (const partition of this.owned.reverse().slice(0, Math.max(0, this.#held.size - share))) {
        await this.#giveUp(partition);
      }
      for (const partition of this.#preference()) {
        if (this.#held.size >= share || this.#stopped) break;
        if (!this.#held.has(partition)) await this.#take(partition);
      }
    } catch (error) {
      log.warn("could not balance partition ownership", { error: toErrorInfo(error) });
    }
  }

  /** This worker's partitions in the order it tries them: from a place its name picks. */
  #preference(): number[] {
    const { partitions, name } = this.#o;
    const start = crc32(name) % partitions.length;
    return [...partitions.slice(start), ...partitions.slice(0, start)];
  }

  async #take(partition: number): Promise<void> {
    const { redis, keys, pipeline, name, log } = this.#o;
    const lease = await Lease.acquire(
      redis,
      keys.forPartition(partition),
      name,
      pipeline.ownership.leaseMs,
    );
    if (lease === undefined) return;
    const part = this.#o.part(partition, lease);
    this.#held.set(partition, { lease, part });
    log.info("partition owned", { partition, lease: lease.value });
    await part.start();
  }

  /** Stops a partition whose lease is still held, then releases the lease. */
  async #giveUp(partition: number): Promise<void> {
    const held = this.#held.get(partition)!;
    this.#held.delete(partition);
    await held.part.stop();
    await held.lease.release();
    this.#o.log.info("partition given up", { partition });
  }

  /** A lease lost (expired and taken): the partition stops at once, in the background. */
  #lost(partition: number): void {
    const held = this.#held.get(partition)!;
    this.#held.delete(partition);
    this.#o.log.warn("partition lease lost; stopping it", { partition });
    const stopping = held.part.stop().catch(() => undefined);
    this.#stopping.add(stopping);
    void stopping.finally(() => this.#stopping.delete(stopping));
  }
}
