import { createHash } from "node:crypto";

/**
 * A webhook endpoint, as circuit breakers and the people who run receivers know it: one
 * URL. Agents whose webhooks share a host (one receiver, several paths) get a breaker
 * each, so one broken endpoint cannot hold back its healthy neighbours.
 */
export interface Endpoint {
  /** SHA-256 (hex, 32 characters) of the normalized URL: the breaker's key. */
  hash: string;
  /**
   * Origin and path, for status, logs and the error history; `?…` stands for a query
   * string, which is never shown, since it may hold a secret (so may user info: left out).
   */
  label: string;
}

/**
 * The endpoint of a webhook URL. Normalized as the WHATWG URL parser does (scheme and host
 * in lower case, default port dropped, dot segments resolved), fragment dropped: the
 * fragment is never sent, so two URLs differing only there are one endpoint.
 */
export function endpointOf(url: string | URL): Endpoint {
  const parsed = new URL(url);
  parsed.hash = "";
  return {
    hash: createHash("sha256").update(parsed.href).digest("hex").slice(0, 32),
    label: `${parsed.origin}${parsed.pathname}${parsed.search === "" ? "" : "?…"}`,
  };
}
