import { createHmac, timingSafeEqual } from "node:crypto";

/**
 * Webhook signatures. Each POST carries `x-switchboard-timestamp` (Unix seconds) and
 * `x-switchboard-signature: v1=<hex>`, the HMAC-SHA256 of `<timestamp>.<raw body>` under
 * the agent's webhook secret (given by register_agent). A receiver recomputes it over the
 * raw bytes it received, compares in constant time, and refuses timestamps too far from
 * its clock, so a captured request cannot be replayed later.
 */
export const TIMESTAMP_HEADER = "x-switchboard-timestamp";
export const SIGNATURE_HEADER = "x-switchboard-signature";
/** Requests older (or newer) than this are refused by {@link verifyWebhook}. */
export const DEFAULT_TOLERANCE_SECONDS = 300;

const VERSION = "v1";

/** The signature header's value for a body sent at `timestamp` (Unix seconds). */
export function signWebhook(secret: string, timestamp: number, body: string | Buffer): string {
  const mac = createHmac("sha256", secret).update(`${timestamp}.`).update(body).digest("hex");
  return `${VERSION}=${mac}`;
}

export interface VerifyOptions {
  /** The webhook secret register_agent returned. */
  secret: string;
  /** The raw request body, exactly as received (not re-serialised JSON). */
  body: string | Buffer;
  /** The request headers (Node's `req.headers`, a `Headers`, or a plain object). */
  headers: Headers | Record<string, string | string[] | undefined>;
  toleranceSeconds?: number;
  /** The receiver's clock, ms (for tests). */
  now?: number;
}

export type VerifyResult =
  | { ok: true; timestamp: number }
  | { ok: false; reason: "missing_headers" | "stale_timestamp" | "bad_signature" };

/**
 * Checks a webhook request's signature and timestamp. Use it before trusting a body:
 *
 * ```ts
 * import { verifyWebhook } from "switchboard";
 * const check = verifyWebhook({ secret, body: rawBody, headers: req.headers });
 * if (!check.ok) return res.writeHead(401).end(check.reason);
 * ```
 */
export function verifyWebhook(options: VerifyOptions): VerifyResult {
  const timestampText = header(options.headers, TIMESTAMP_HEADER);
  const signature = header(options.headers, SIGNATURE_HEADER);
  const timestamp = Number(timestampText);
  if (timestampText === undefined || signature === undefined || !Number.isInteger(timestamp)) {
    return { ok: false, reason: "missing_headers" };
  }
  const tolerance = options.toleranceSeconds ?? DEFAULT_TOLERANCE_SECONDS;
  const now = (options.now ?? Date.now()) / 1000;
  if (Math.abs(now - timestamp) > tolerance) return { ok: false, reason: "stale_timestamp" };
  const expected = Buffer.from(signWebhook(options.secret, timestamp, options.body));
  // Several comma-separated signatures may come during a secret rotation: any one may match.
  const matches = signature.split(",").some((candidate) => {
    const given = Buffer.from(candidate.trim());
    return given.length === expected.length && timingSafeEqual(given, expected);
  });
  return matches ? { ok: true, timestamp } : { ok: false, reason: "bad_signature" };
}

function header(headers: VerifyOptions["headers"], name: string): string | undefined {
  if (typeof (headers as Headers).get === "function") {
    return (headers as Headers).get(name) ?? undefined;
  }
  const record = headers as Record<string, string | string[] | undefined>;
  const value = record[name] ?? record[name.toLowerCase()];
  return Array.isArray(value) ? value[0] : value;
}
