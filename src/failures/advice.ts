import { isErrorCode, type ErrorCode } from "../protocol/errors.js";

/**
 * What an operator does about each error code, for `switchboard errors`. Every code has
 * an entry (the type checks it): a new code comes with its advice.
 */
export const ADVICE: Readonly<Record<ErrorCode, string>> = {
  INVALID_INPUT:
    "a caller's input did not match the schema; the error names the field: fix the agent's tool arguments or the producer's entries",
  MALFORMED_ENTRY:
    "a producer that bypasses the front end wrote an entry that cannot be decoded (encoding, JSON, envelope version); find it with `switchboard dlq list --code MALFORMED_ENTRY`, fix the producer, then purge it",
  TOO_LARGE:
    "messages over the size limits: have senders send smaller bodies or a link to the data, or raise `limits.maxBodyBytes` (and `maxEncodedBytes`) in the pipeline file",
  EXPIRED:
    "messages outlived their `expires_at` before delivery: recipients are offline or behind; check their backlog (`switchboard agents`, `switchboard status`) or have senders give a longer `ttl_seconds`",
  DUPLICATE_IDEMPOTENCY_KEY:
    "a sender reused an idempotency key for a different message; it must use a new key for each new message",
  NAME_TAKEN:
    "an agent registered a name someone holds; it must present that name's token (SWITCHBOARD_TOKEN, Authorization: Bearer) or choose another name",
  NOT_FOUND:
    "callers named an agent, message, thread or dead letter that is not there, often an agent that unregistered; `switchboard agents` lists who is registered",
  LEASE_EXPIRED:
    "an agent renewed, released or committed under a resource lease that had run out or been broken: it worked past its ttl_seconds (renew_lease sooner, or give a longer ttl) or its process stalled; `switchboard leases` shows who holds what now",
  VERSION_CONFLICT:
    "agents wrote a shared note at the same time and the later write was refused (compare-and-set on its version): the agent reads the note again (get_note), merges and writes again; frequent conflicts mean agents share one note for unrelated things, so give each its own key",
  UNAUTHENTICATED:
    "calls with no token or an unknown one: the agent lost its token or was unregistered; it registers again (register_agent) and keeps the new token",
  FORBIDDEN:
    "an agent called an admin tool without the admin role; grant it with `switchboard agents admin NAME` if it should have it",
  RATE_LIMITED:
    "an agent sends faster than `limits.sendRate` (every front end together) and is told to wait `retry_after_seconds`: find out why it sends so much (a loop?), have it batch or use a topic, or raise `limits.sendRate` in the pipeline file",
  LOOP_DETECTED:
    "agents answered each other past a `loops` budget (a reply loop, or a broadcast answered to everyone), and the breaker refuses their messages until it resets; `switchboard loops list` shows which, tell the agents to stop answering acknowledgements, then lift it early with `switchboard loops clear`, or raise the budget in the pipeline file if the traffic was real work",
  INBOX_FULL:
    "recipients hold `inbox.quota` unacknowledged messages: have them ack (ack_messages) and fetch more often, or raise `inbox.quota`; with `inbox.overflow: defer` the messages wait in the retry queue",
  NO_RECIPIENT:
    "no agent matched the target: nobody online or idle has the capability, or nobody subscribes to the topic; start such an agent or fix the senders' targets",
  WEBHOOK_SERVER_ERROR:
    "the endpoint answers 5xx: check its logs and health; deliveries retry with backoff (`retries.delivery`), and once it is fixed `switchboard dlq replay --all --code WEBHOOK_SERVER_ERROR` brings back what gave up",
  WEBHOOK_THROTTLED:
    "the endpoint answers 408 or 429: it is overloaded; raise its rate limit or lower `webhooks.concurrency` (its Retry-After is honoured)",
  WEBHOOK_TIMEOUT:
    "make the endpoint answer 2xx fast and do the work asynchronously, or raise `webhooks.timeoutMs`",
  WEBHOOK_UNREACHABLE:
    "DNS, a refused or reset connection, or TLS failed: check the agent's webhook_url (`switchboard agents --json`), that the service is up and reachable from Switchboard, and its certificate",
  WEBHOOK_REJECTED:
    "the endpoint refused with a 4xx (not 408 or 429), so retrying cannot help: check its signature check (secret, clock) and the payload it expects, fix it, then `switchboard dlq replay`",
  WEBHOOK_FORBIDDEN:
    "the webhook resolves to a private address and `webhooks.allowPrivateNetworks` is false: register a public URL, or allow private networks (local setups only)",
  BREAKER_OPEN:
    "an endpoint failed `webhooks.breaker.failureThreshold` times in a row and is paused for `cooldownMs`; fix it (see its other errors): messages wait in the retry queue meanwhile",
  POISON:
    "an entry crashed or stalled its stage more than `maxDeliveries` times: a bug, or a message the stage cannot handle; read it (`switchboard dlq show ID`), find the stack in the worker logs, fix, then replay",
  CONFIG:
    "a configuration or pipeline file is wrong: `switchboard pipeline check FILE` names the field",
  REDIS_UNAVAILABLE:
    "Redis could not be reached or refused commands (restart, failover, memory): check its health and memory, with `maxmemory-policy noeviction`; work resumes on reconnect",
  NOT_REPLICATED:
    "with `durability: replicated`, fewer replicas than `durability.replicas` confirmed writes within `durability.timeoutMs`: sends were refused and deliveries are retried; check the replicas (`INFO replication` on the master: connected, lag), bring them back or lower `durability.replicas`",
  INTERNAL:
    "an unforeseen error, a bug: the worker logs hold the stack; report it with the message and the trace id",
};

/** The advice for a code; a code from a newer version gets a pointer instead. */
export function adviceFor(code: string): string {
  return isErrorCode(code)
    ? ADVICE[code]
    : "no advice for this code: it is newer than this switchboard; upgrade the CLI";
}
