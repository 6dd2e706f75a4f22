import { createHash } from "node:crypto";
import type { Redis } from "ioredis";
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

/** The agent a token belongs to, if any; a malformed token is UNAUTHENTICATED, unlooked-up. */
export async function tokenOwner(
  redis: Redis,
  keys: Keys,
  token: string,
): Promise<string | undefined> {
  checkTokenFormat(token);
  return (await redis.get(keys.token(hashToken(token)))) ?? undefined;
}

/**
 * Refuses a presented token unless it belongs to `name`: malformed or unknown is
 * UNAUTHENTICATED, another agent's is INVALID_INPUT naming whose it is.
 */
export async function checkOwner(
  redis: Redis,
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
 * Gives an agent a new token and returns it; the old one stops working at once (one
 * script swaps both). Undefined when no agent has the name.
 */
export async function rotateToken(
  redis: Redis,
  keys: Keys,
  name: string,
): Promise<string | undefined> {
  const record = keys.agent(name);
  for (;;) {
    const oldHash = await redis.hget(record, AgentField.tokenHash);
    if (oldHash === null) return undefined;
    const token = mintToken();
    const newHash = hashToken(token);
    const rotated = await rotateTokenScript.run(redis, {
      name,
      record,
      oldHash,
      oldTokenKey: keys.token(oldHash),
      newHash,
      newTokenKey: keys.token(newHash),
    });
    if (rotated === 1) return token;
    if (rotated === 0) return undefined;
    // -1: another rotation (or a re-registration) came first; rotate from its token.
  }
}

export function unknownToken(): SwitchboardError {
  return new SwitchboardError(
    "UNAUTHENTICATED",
    "the presented token belongs to no agent (it was unregistered, or mistyped); present none " +
      "and call register_agent to get a new one: only Switchboard mints tokens",
  );
}
