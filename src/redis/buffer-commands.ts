import type { Result } from "ioredis";

/**
 * ioredis defines a `…Buffer` variant of every command at run time but does not type
 * these two. Stream entries hold binary (deflate) values, so they must be read as
 * buffers; `callBuffer` is no substitute, as it breaks under auto-pipelining.
 */
declare module "ioredis" {
  interface RedisCommander<Context> {
    xautoclaimBuffer(
      key: string,
      group: string,
      consumer: string,
      minIdleTime: number,
      start: string,
      countToken: "COUNT",
      count: number,
    ): Result<[next: Buffer, entries: unknown, deleted: Buffer[]], Context>;
    xreadgroupBuffer(
      groupToken: "GROUP",
      group: string,
      consumer: string,
      countToken: "COUNT",
      count: number,
      streamsToken: "STREAMS",
      key: string,
      id: string,
    ): Result<[key: Buffer, entries: unknown][] | null, Context>;
    xreadgroupBuffer(
      groupToken: "GROUP",
      group: string,
      consumer: string,
      countToken: "COUNT",
      count: number,
      blockToken: "BLOCK",
      block: number,
      streamsToken: "STREAMS",
      key: string,
      id: string,
    ): Result<[key: Buffer, entries: unknown][] | null, Context>;
  }
}
