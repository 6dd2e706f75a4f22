/**
 * What the `switchboard` package exports for code that is not Switchboard itself: the
 * client of the HTTP API (`/v1`), and the verification of webhook signatures, for
 * receivers of push delivery.
 */
export {
  SwitchboardClient,
  type AckResult,
  type AgentList,
  type ApiInput,
  type ApiOutput,
  type Fetched,
  type MessageView,
  type Registration,
  type SendResult,
  type SwitchboardClientOptions,
  type Thread,
} from "./client/client.js";
export { SwitchboardApiError, type Problem } from "./client/problem-error.js";
export {
  DEFAULT_TOLERANCE_SECONDS,
  SIGNATURE_HEADER,
  signWebhook,
  TIMESTAMP_HEADER,
  verifyWebhook,
  type VerifyOptions,
  type VerifyResult,
} from "./webhook/signature.js";
