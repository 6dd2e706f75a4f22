import { randomBytes } from "node:crypto";
import { SwitchboardError } from "./errors.js";

/** What every agent token starts with. */
export const TOKEN_PREFIX = "sbt_";
/**
 * Random bytes in a token, written as base64url without padding.
 * @defaultValue 24 (192 bits: 32 characters)
 */
export const TOKEN_RANDOM_BYTES = 24;
/** The length of a token: the prefix and the base64url of {@link TOKEN_RANDOM_BYTES}. */
export const TOKEN_LENGTH = TOKEN_PREFIX.length + Math.ceil((TOKEN_RANDOM_BYTES * 4) / 3);

const BASE64URL = /^[A-Za-z0-9_-]*$/;

/** A new agent token. Only the server mints tokens; a client never chooses its own. */
export function mintToken(): string {
  return `${TOKEN_PREFIX}${randomBytes(TOKEN_RANDOM_BYTES).toString("base64url")}`;
}

/**
 * Refuses, as UNAUTHENTICATED, a presented token that Switchboard cannot have minted,
 * naming what is wrong with it; checked before the token is looked up in Redis.
 */
export function checkTokenFormat(token: string): void {
  const problem = formatProblem(token);
  if (problem === undefined) return;
  throw new SwitchboardError(
    "UNAUTHENTICATED",
    `the presented token ${problem}, so Switchboard did not issue it; present the token ` +
      "register_agent returned (`Authorization: Bearer sbt_…` over HTTP, SWITCHBOARD_TOKEN for stdio), " +
      "or present none and call register_agent to get one",
  );
}

function formatProblem(token: string): string | undefined {
  if (!token.startsWith(TOKEN_PREFIX)) return `does not start with '${TOKEN_PREFIX}'`;
  if (token.length !== TOKEN_LENGTH) {
    return `is ${token.length} characters long where a token has ${TOKEN_LENGTH} ('${TOKEN_PREFIX}' and ${TOKEN_LENGTH - TOKEN_PREFIX.length} base64url characters)`;
  }
  if (!BASE64URL.test(token.slice(TOKEN_PREFIX.length))) {
    return `has characters outside base64url (A-Z, a-z, 0-9, '-', '_') after '${TOKEN_PREFIX}'`;
  }
  return undefined;
}
