import { createHash } from "node:crypto";
import type { RedisClient } from "../redis/client.js";
import { SwitchboardError } from "../protocol/errors.js";
import { checkTokenFormat, mintToken } from "../protocol/token.js";
import { AgentField } from "../redis/agent-fields.js";
import type { Keys } from "../redis/keys.js";
import { rotateTokenScript } from "./scripts.js";

/**
 * Agents' tokens: Redis keeps only their SHA-256, on the agent's record and as the key
 * that maps a token to its agent's name.
 */
export const hashToken = (token: string): string =>
  createHash("sha256").update(token).digest("hex");

/**
 * The agent a token belongs to, if any; a malformed token is UNAUTHENTICATED, unlooked-up.
 * The token → name key finds the agent; the agent's record, which names its one token,
 * confirms it: a key that outlived its token (rotated, or an unregistration cut short)
 * authenticates nobody.
 *
 * With `names`, the names found are kept by token hash and the key is read only for a
 * token not seen before. That is safe without invalidation: a token's key only ever names
 * one agent (tokens are minted at random), and the record is read on every call, so a
 * rotated or unregistered token is refused at once, by every process.
 */
export async function tokenOwner(
  redis: RedisClient,
  keys: Keys,
  token: string,
  names?: TokenNames,
): Promise<string | undefined> {
  checkTokenFormat(token);
  const hash = hashToken(token);
  const known = names?.get(hash);
  const name = known ?? (await redis.get(keys.token(hash)));
  if (name === null) return undefined;
  const current = await redis.hget(keys.agent(name), AgentField.tokenHash);
  if (current !== hash) {
    names?.delete(hash);
    return undefined;
  }
  if (known === undefined) names?.set(hash, name);
  return name;
}

/** How many token hashes a {@link TokenNames} keeps; the oldest is dropped for a new one. */
export const TOKEN_NAMES_KEPT = 10_000;

/** Agent names by token hash, as {@link tokenOwner} confirmed them; at most {@link TOKEN_NAMES_KEPT}. */
export class TokenNames {
  readonly #names = new Map<string, string>();

  get(hash: string): string | undefined {
    return this.#names.get(hash);
  }

  set(hash: string, name: string): void {
    if (this.#names.size >= TOKEN_NAMES_KEPT) {
      const oldest = this.#names.keys().next().value;
      if (oldest !== undefined) this.#names.delete(oldest);
    }
    this.#names.set(hash, name);
  }

  delete(hash: string): void {
    this.#names.delete(hash);
  }
}

/**
 * Refuses a presented token unless it belongs to `name`: malformed or unknown is
 * UNAUTHENTICATED, another agent's is INVALID_INPUT naming whose it is.
 */
export async function checkOwner(
  redis: RedisClient,
  keys: Keys,
  token: string,
  name: string,
): Promise<void> {
  const owner = await tokenOwner(redis, keys, token);
  if (owner === undefined) throw unknownToken();
  if (owner === name) return;
  throw new SwitchboardError(
    "INVALID_INPUT",
    `the presented token is agent '${owner}''s, so it can only update '${owner}'; to register '${name}', present no token`,
    { field: "name" },
  );
}

/**
 * Gives an agent a new token and returns it; the old one stops working at once. Undefined
 * when no agent has the name. Run under the name's write lock.
 *
 * The swap on the record is the one atomic point (the token → name keys are in other
 * hash slots): before it only the old token authenticates, after it only the new one.
 * Then the new token's key is written (before the token is returned, so before anyone
 * can present it) and the old one's deleted. A process killed after the swap leaves the
 * old key, which authenticates nobody and is named on the record as retired, so the next
 * rotation or the unregistration deletes it.
 */
export async function rotateToken(
  redis: RedisClient,
  keys: Keys,
  name: string,
): Promise<string | undefined> {
  const record = keys.agent(name);
  for (;;) {
    const [oldHash, retired] = await redis.hmget(
      record,
      AgentField.tokenHash,
      AgentField.retiredTokenHash,
    );
    if (oldHash === null || oldHash === undefined) return undefined;
    const token = mintToken();
    const newHash = hashToken(token);
    const rotated = await rotateTokenScript.run(redis, { record, oldHash, newHash });
    if (rotated === 0) return undefined;
    if (rotated === 1) {
      await redis.set(keys.token(newHash), name);
      await deleteTokenKeys(redis, keys, [oldHash, retired]);
      return token;
    }
    // -1: another rotation (or a re-registration) came first; rotate from its token.
  }
}

/** Deletes the token → name keys of these hashes (null and undefined skipped). */
export async function deleteTokenKeys(
  redis: RedisClient,
  keys: Keys,
  hashes: readonly (string | null | undefined)[],
): Promise<void> {
  // One DEL per key: each is in a hash slot of its own.
  await Promise.all(
    hashes.flatMap((hash) =>
      hash === null || hash === undefined ? [] : [redis.del(keys.token(hash))],
    ),
  );
}

export function unknownToken(): SwitchboardError {
  return new SwitchboardError(
    "UNAUTHENTICATED",
    "the presented token belongs to no agent (it was unregistered, or mistyped); present none " +
      "and call register_agent to get a new one: only Switchboard mints tokens",
  );
}
