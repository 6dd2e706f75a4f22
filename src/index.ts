/**
 * What the `switchboard` package exports for code that is not Switchboard itself: the
 * verification of webhook signatures, for receivers of push delivery.
 */
export {
  DEFAULT_TOLERANCE_SECONDS,
  SIGNATURE_HEADER,
  signWebhook,
  TIMESTAMP_HEADER,
  verifyWebhook,
  type VerifyOptions,
  type VerifyResult,
} from "./webhook/signature.js";
