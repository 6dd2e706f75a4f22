import { isIP } from "node:net";
import { z } from "zod";
import { positiveInt } from "./fields.js";

/**
 * The `http` block: bounds of the HTTP servers, `serve`'s MCP front end and
 * `worker --metrics-port` (which uses the connection fields only). What each guards
 * against: docs/operations.md, "Limits".
 */
export const HttpSchema = z.strictObject({
  /** A POST to /mcp with a longer body is answered 413; it is counted as it arrives, never held. */
  maxBodyBytes: positiveInt("bytes").default(1_048_576),
  /** Connections beyond this many are closed as they arrive. */
  maxConnections: positiveInt("connections").default(1024),
  /** A request whose headers have not all arrived after this long is answered 408 and cut. */
  headersTimeoutMs: positiveInt("milliseconds").default(10_000),
  /** … whose body has not all arrived (headers included); a response may take longer. */
  requestTimeoutMs: positiveInt("milliseconds").default(30_000),
  /** A kept-alive connection with no request for this long is closed. */
  keepAliveTimeoutMs: positiveInt("milliseconds").default(5000),
  /**
   * Peers whose `X-Forwarded-For` is believed (reverse proxies, by IP address); without
   * them the client address of the per-address limits is the socket's peer, so behind a
   * proxy every client shares the proxy's.
   */
  trustedProxies: z
    .array(z.string().refine((ip) => isIP(ip) !== 0, "expected an IP address such as 10.0.0.5"))
    .default([]),
  /** 2025-11-25 sessions (`Mcp-Session-Id`), each holding a server in this process. */
  sessions: z
    .strictObject({
      /** Sessions of agents (a valid bearer token, or register_agent called in the session). */
      max: positiveInt("sessions").default(10_000),
      /** An agent's session not heard from for this long is closed. */
      idleMs: positiveInt("milliseconds").default(1_800_000),
      /** Sessions not (yet) an agent: a budget of their own, so they never crowd agents out. */
      anonymous: z
        .strictObject({
          /** In all, on this process. */
          max: positiveInt("sessions").default(256),
          /** From one client address. */
          perAddress: positiveInt("sessions").default(16),
          /** Not heard from for this long: closed. */
          idleMs: positiveInt("milliseconds").default(60_000),
        })
        .prefault({}),
    })
    .prefault({}),
});

export type HttpLimits = z.infer<typeof HttpSchema>;

/** The `health` block: what `/readyz` holds the stages to. */
export const HealthSchema = z.strictObject({
  /** `/readyz` fails while a stage has more entries than this not yet handed to its group. */
  maxLag: positiveInt("entries").default(10_000),
  /** … or more entries than this handed out and not acknowledged. */
  maxPending: positiveInt("entries").default(10_000),
  /** How long `/readyz` and a scrape of the cluster gauges wait for Redis. */
  redisTimeoutMs: positiveInt("milliseconds").default(2000),
});
