import type { ChainableCommander } from "ioredis";
import type { RedisClient } from "./client.js";

/** A value as Redis takes it in KEYS and ARGV. */
export type ScriptArg = string | Buffer | number;

/** What a script's named parameters become: its KEYS and its ARGV, in order. */
export interface ScriptCall {
  keys: ScriptArg[];
  args: ScriptArg[];
}

/** Lua source text, built with {@link lua}. */
export class Lua {
  constructor(readonly source: string) {}
}

/** Printable ASCII but the quote and the backslash: safe between single quotes in Lua. */
const QUOTABLE = /^[\x20-\x26\x28-\x5b\x5d-\x7e]*$/;

/**
 * Lua source with the TypeScript's names in it: an interpolated string (a field name, a
 * prefix) becomes a quoted Lua string, so the Lua reads the same table as the TypeScript
 * and no name is spelled twice; interpolated {@link Lua} (a shared helper) goes in as code.
 */
export function lua(strings: TemplateStringsArray, ...values: (string | Lua)[]): Lua {
  let source = strings[0]!;
  values.forEach((value, i) => {
    if (typeof value === "string" && !QUOTABLE.test(value)) {
      throw new Error(
        `cannot quote ${JSON.stringify(value)} in Lua: names used in scripts must be printable ASCII without ' or \\`,
      );
    }
    source += (typeof value === "string" ? `'${value}'` : value.source) + strings[i + 1]!;
  });
  return new Lua(source);
}

/** Lua that sets `now` to Redis's clock in milliseconds, so that every front end agrees. */
export const luaNowMs = lua`local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)`;

/** A defined script on a connection (a promise of its reply) or a batch (the batch). */
type ScriptCommand = (numKeys: number, ...args: ScriptArg[]) => unknown;

/**
 * A Lua script with a typed call: named parameters `P`, turned into KEYS and ARGV in one
 * place (`encode`), answering `R`. Underneath it is an ioredis `defineCommand` (EVALSHA
 * with a NOSCRIPT fallback), so it runs on a connection and queues in a batch alike.
 */
export class Script<P, R> {
  constructor(
    /** The command's name on a connection (and in a batch). */
    readonly name: string,
    readonly lua: Lua,
    readonly encode: (params: P) => ScriptCall,
  ) {}

  /** Makes the script callable on a connection and on every batch made from it afterwards. */
  define(redis: RedisClient): void {
    redis.defineCommand(this.name, { lua: this.lua.source });
  }

  run(redis: RedisClient, params: P): Promise<R> {
    return this.#send(redis, params) as Promise<R>;
  }

  /** Adds the call to a batch (`pipeline()` or `multi()`); its reply comes with the batch's. */
  queue(batch: ChainableCommander, params: P): void {
    this.#send(batch, params);
  }

  #send(target: RedisClient | ChainableCommander, params: P): unknown {
    const command = (target as unknown as Record<string, ScriptCommand | undefined>)[this.name];
    if (typeof command !== "function") {
      throw new Error(
        `Lua script ${this.name} is not defined on this connection: call defineScripts (src/app/scripts.ts) on it before use, and before making batches from it`,
      );
    }
    const { keys, args } = this.encode(params);
    return command.call(target, keys.length, ...keys, ...args);
  }
}

/** What a script answers: for reading its reply among a batch's. */
export type ScriptReply<S> = S extends Script<never, infer R> ? R : never;
