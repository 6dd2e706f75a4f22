import { randomBytes, timingSafeEqual } from "node:crypto";
import { hashToken } from "../agents/tokens.js";
import { SwitchboardError } from "../protocol/errors.js";
import type { RedisClient } from "../redis/client.js";
import { ConsoleKeys } from "../redis/console-keys.js";
import type { Keys } from "../redis/keys.js";

/** What the operator token starts with (agents' tokens start with `sbt_`). */
const OPERATOR_TOKEN_PREFIX = "sbc_";

/** The longest presented token looked at; longer ones are refused unhashed. */
const MAX_TOKEN_LENGTH = 128;

/**
 * The web console's operator token: whoever presents it logs in. `switchboard console
 * token` makes a new one, which replaces the last at once; Redis keeps only its SHA-256.
 */
export async function rotateOperatorToken(redis: RedisClient, keys: Keys): Promise<string> {
  const token = `${OPERATOR_TOKEN_PREFIX}${randomBytes(32).toString("base64url")}`;
  await redis.set(new ConsoleKeys(keys).operatorToken(), hashToken(token));
  return token;
}

/** Refuses, as UNAUTHENTICATED, a token that is not the operator token now. */
export async function checkOperatorToken(
  redis: RedisClient,
  keys: Keys,
  token: unknown,
): Promise<void> {
  if (typeof token !== "string" || token === "") {
    throw new SwitchboardError(
      "UNAUTHENTICATED",
      "log in with the operator token (`switchboard console token` prints a new one)",
      { field: "token" },
    );
  }
  const stored = await redis.get(new ConsoleKeys(keys).operatorToken());
  if (stored === null) {
    throw new SwitchboardError(
      "UNAUTHENTICATED",
      "this Switchboard has no operator token yet; make one with `switchboard console token`",
      { field: "token" },
    );
  }
  const same =
    token.length <= MAX_TOKEN_LENGTH &&
    sameSecret(hashToken(token.slice(0, MAX_TOKEN_LENGTH)), stored);
  if (!same) {
    throw new SwitchboardError(
      "UNAUTHENTICATED",
      "this is not the operator token (it may have been rotated); `switchboard console token` prints a new one",
      { field: "token" },
    );
  }
}

/** Whether a presented secret (a header's value) is `expected`, in constant time. */
export function sameSecret(given: string | string[] | undefined, expected: string): boolean {
  if (typeof given !== "string") return false;
  const a = Buffer.from(given);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}
