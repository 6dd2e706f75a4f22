import { request as undiciRequest, type Dispatcher } from "undici";
import type { ErrorInfo } from "../protocol/errors.js";
import { FORBIDDEN_ADDRESS, webhookDispatcher } from "./connect.js";
import { endpointOf } from "./endpoint.js";
import { signWebhook, SIGNATURE_HEADER, TIMESTAMP_HEADER } from "./signature.js";

export interface WebhookRequest {
  url: string;
  secret: string;
  /** The JSON body, as sent and signed. */
  body: string;
  messageId: string;
  /** Which try this is, from 1. */
  attempt: number;
  /** The W3C trace context of the message, if any. */
  traceparent?: string | undefined;
  timeoutMs: number;
  /** Abandons the request before `timeoutMs` when it fires (a first try's budget). */
  signal?: AbortSignal | undefined;
  /** False: connect to global unicast addresses only (`webhooks.allowPrivateNetworks`). */
  allowPrivateNetworks: boolean;
}

export type WebhookResult =
  | { ok: true; status: number }
  | {
      ok: false;
      error: ErrorInfo;
      status?: number;
      /** A 408/429/503's `Retry-After`, in ms. */
      retryAfterMs?: number;
    };

const USER_AGENT = "switchboard-webhook/1";

/** How much of an answer's body is read and dropped to keep its connection; past it, closed. */
const DRAIN_LIMIT_BYTES = 64 * 1024;

/**
 * POSTs a message to a webhook, signed, with a timeout, and classifies the answer: 2xx
 * delivered; 408/429 throttled (honouring `Retry-After`); 5xx a server error; no answer in
 * time a timeout; no connection unreachable; any other status a refusal that retrying
 * cannot fix.
 */
export async function postWebhook(request: WebhookRequest): Promise<WebhookResult> {
  const timestamp = Math.floor(Date.now() / 1000);
  const headers: Record<string, string> = {
    "content-type": "application/json",
    "user-agent": USER_AGENT,
    "x-switchboard-message-id": request.messageId,
    "x-switchboard-attempt": String(request.attempt),
    [TIMESTAMP_HEADER]: String(timestamp),
    [SIGNATURE_HEADER]: signWebhook(request.secret, timestamp, request.body),
  };
  if (request.traceparent !== undefined) headers.traceparent = request.traceparent;
  let response: Dispatcher.ResponseData;
  try {
    // `request`, not `fetch`: a fraction of the CPU, and a redirect is not followed.
    response = await undiciRequest(request.url, {
      method: "POST",
      headers,
      body: request.body,
      dispatcher: webhookDispatcher(request.allowPrivateNetworks),
      signal: timeoutSignal(request),
    });
    // The answer's body is not read, only drained, so the connection is kept for the next
    // POST to this origin (cancelling the body would close it).
    await response.body.dump({ limit: DRAIN_LIMIT_BYTES });
  } catch (error) {
    return failureOf(error, request);
  }
  const status = response.statusCode;
  if (status >= 200 && status < 300) return { ok: true, status };
  const where = `webhook ${endpointOf(request.url).label} answered ${status}`; // no query string
  if (status === 408 || status === 429) {
    return {
      ok: false,
      status,
      error: { code: "WEBHOOK_THROTTLED", message: `${where}; trying again later` },
      ...retryAfter(header(response, "retry-after")),
    };
  }
  if (status >= 500) {
    return {
      ok: false,
      status,
      error: { code: "WEBHOOK_SERVER_ERROR", message: `${where}; trying again later` },
      ...retryAfter(header(response, "retry-after")),
    };
  }
  return {
    ok: false,
    status,
    error: {
      code: "WEBHOOK_REJECTED",
      message: `${where}, refusing the message; fix the receiver, then replay the dead letter (switchboard dlq replay)`,
    },
  };
}

function timeoutSignal(request: WebhookRequest): AbortSignal {
  const timeout = AbortSignal.timeout(request.timeoutMs);
  return request.signal === undefined ? timeout : AbortSignal.any([timeout, request.signal]);
}

function failureOf(error: unknown, request: WebhookRequest): WebhookResult {
  const name = (error as Error).name;
  const webhook = `webhook ${endpointOf(request.url).label}`; // never the query string
  if (name === "TimeoutError" || name === "AbortError") {
    return {
      ok: false,
      error: {
        code: "WEBHOOK_TIMEOUT",
        message: `${webhook} did not answer within ${request.timeoutMs} ms (webhooks.timeoutMs)`,
      },
    };
  }
  // undici's `request` rejects with the connector's error itself (`fetch` wrapped it).
  const failure = error as { code?: string; message?: string };
  if (failure.code === FORBIDDEN_ADDRESS) {
    return {
      ok: false,
      error: {
        code: "WEBHOOK_FORBIDDEN",
        message: `${webhook} refused before connecting: ${failure.message ?? ""}, which webhooks.allowPrivateNetworks: false forbids; register a public URL`,
      },
    };
  }
  return {
    ok: false,
    error: {
      code: "WEBHOOK_UNREACHABLE",
      message: `${webhook} unreachable: ${failure.code ?? failure.message ?? String(error)}`,
    },
  };
}

function header(response: Dispatcher.ResponseData, name: string): string | null {
  const value = response.headers[name];
  return (Array.isArray(value) ? value[0] : value) ?? null;
}

/** `Retry-After` as delay-seconds or an HTTP date; nothing when absent or unreadable. */
function retryAfter(value: string | null): { retryAfterMs?: number } {
  if (value === null) return {};
  const seconds = Number(value);
  if (Number.isFinite(seconds) && seconds >= 0) return { retryAfterMs: seconds * 1000 };
  const at = Date.parse(value);
  return Number.isNaN(at) ? {} : { retryAfterMs: Math.max(0, at - Date.now()) };
}
