import { SwitchboardError } from "../protocol/errors.js";
import type { Pipeline } from "./pipeline.js";

/** A CONFIG error naming the file (`source`) and, when one is to blame, the field. */
export function configError(source: string, message: string, field?: string): SwitchboardError {
  return new SwitchboardError(
    "CONFIG",
    `${source}: ${message}`,
    field === undefined ? {} : { field },
  );
}

/** Checks what one field cannot: values that only make sense against other fields. */
export function checkInvariants(pipeline: Pipeline): void {
  checkRedeliveryHorizon(pipeline);
  checkPolicies(pipeline);
  checkHttp(pipeline);
}

/** Windows that must outlast the redelivery horizon of every stage. */
function checkRedeliveryHorizon(pipeline: Pipeline): void {
  const { dedupe } = pipeline;
  for (const stage of Object.values(pipeline.stages)) {
    const horizon = stage.claimIdleMs * stage.maxDeliveries;
    for (const [field, window] of Object.entries(dedupe)) {
      if (window < horizon) {
        throw configError(
          pipeline.source,
          `field \`dedupe.${field}\` (${window} ms) is shorter than the redelivery horizon of stage '${stage.name}' (claimIdleMs ${stage.claimIdleMs} × maxDeliveries ${stage.maxDeliveries} = ${horizon} ms), so a redelivered entry could be taken for a new one; raise it to at least ${horizon}`,
          `dedupe.${field}`,
        );
      }
    }
  }
}

/** Agent statuses in order, a policy for every retried category, bodies that can be read back. */
function checkPolicies(pipeline: Pipeline): void {
  const { agents, limits } = pipeline;
  if (agents.offlineAfterMs <= agents.idleAfterMs) {
    throw configError(
      pipeline.source,
      `field \`agents.offlineAfterMs\` (${agents.offlineAfterMs}) must be longer than \`agents.idleAfterMs\` (${agents.idleAfterMs})`,
      "agents.offlineAfterMs",
    );
  }
  for (const [category, strategy] of Object.entries(pipeline.errors.strategies)) {
    if (strategy === "retry" && pipeline.retries[category] === undefined) {
      throw configError(
        pipeline.source,
        `field \`errors.strategies.${category}\` is \`retry\` but there is no retry policy \`retries.${category}\`; add one (attempts, delayMs) or choose dead_letter or drop`,
        `errors.strategies.${category}`,
      );
    }
  }
  if (limits.maxBodyBytes > limits.maxDecodedBytes) {
    throw configError(
      pipeline.source,
      `field \`limits.maxBodyBytes\` (${limits.maxBodyBytes}) exceeds \`limits.maxDecodedBytes\` (${limits.maxDecodedBytes}); a body that large could never be read back`,
      "limits.maxBodyBytes",
    );
  }
}

/** The `http` block: Node refuses a headers timeout past the request timeout; a body limit must fit a message. */
function checkHttp(pipeline: Pipeline): void {
  const { http, limits } = pipeline;
  if (http.headersTimeoutMs > http.requestTimeoutMs) {
    throw configError(
      pipeline.source,
      `field \`http.headersTimeoutMs\` (${http.headersTimeoutMs}) exceeds \`http.requestTimeoutMs\` (${http.requestTimeoutMs}); the whole request includes its headers, so lower it or raise requestTimeoutMs`,
      "http.headersTimeoutMs",
    );
  }
  if (http.maxBodyBytes <= limits.maxBodyBytes) {
    throw configError(
      pipeline.source,
      `field \`http.maxBodyBytes\` (${http.maxBodyBytes}) must exceed \`limits.maxBodyBytes\` (${limits.maxBodyBytes}): a message body at its limit comes wrapped in a JSON-RPC request`,
      "http.maxBodyBytes",
    );
  }
}
