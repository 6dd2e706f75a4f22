import { parseDuration } from "../protocol/duration.js";
import { SwitchboardError } from "../protocol/errors.js";
import type { ErrorWindow } from "./report.js";

/**
 * `5m,1h,24h` as the windows of the error report (`switchboard errors --window`, the
 * console's `?window=`); a bad list is INVALID_INPUT naming `field`.
 */
export function parseWindows(value: string, field: string): ErrorWindow[] {
  const labels = value
    .split(",")
    .map((label) => label.trim())
    .filter((label) => label !== "");
  const refuse = (message: string) => new SwitchboardError("INVALID_INPUT", message, { field });
  if (labels.length === 0) throw refuse("expected durations such as 5m,1h,24h.");
  return labels.map((label) => {
    const ms = parseDuration(label);
    if (ms === undefined) {
      throw refuse(`'${label}' is not a duration; expected a list such as 5m,1h,24h.`);
    }
    if (ms === 0) throw refuse(`'${label}' is empty; a window is longer than 0.`);
    return { label, ms };
  });
}
