import type { Digest } from "../inbox/inbox.js";

/** Short human texts for tool results: ages, the inbox digest, previews of messages. */

/** `42 s`, `5 min`, `3 h`, `2 d`. */
export function ageText(seconds: number): string {
  if (seconds < 60) return `${Math.round(seconds)} s`;
  if (seconds < 3600) return `${Math.round(seconds / 60)} min`;
  if (seconds < 86_400) return `${Math.round(seconds / 3600)} h`;
  return `${Math.round(seconds / 86_400)} d`;
}

/** `inbox: 2 unread, oldest 5 min` or `inbox: empty`. */
export function digestText(digest: Digest): string {
  if (digest.unread === 0) return "inbox: empty";
  const oldest =
    digest.oldest_waiting_seconds === null
      ? ""
      : `, oldest ${ageText(digest.oldest_waiting_seconds)}`;
  return `inbox: ${digest.unread} unread${oldest}`;
}

/** A one-line preview of a message: its subject, else the start of its body. */
export function preview(
  message: { subject?: string | undefined; body: unknown },
  max = 60,
): string {
  const text =
    message.subject ??
    (typeof message.body === "string" ? message.body : JSON.stringify(message.body));
  const line = text.replace(/\s+/g, " ").trim();
  return line.length <= max ? JSON.stringify(line) : JSON.stringify(`${line.slice(0, max - 1)}…`);
}

/** `bob`, `bob and carol`, `bob, carol and 3 more`. */
export function namesText(names: readonly string[], max = 3): string {
  if (names.length <= 1) return names.join("");
  if (names.length <= max) return `${names.slice(0, -1).join(", ")} and ${names.at(-1)}`;
  return `${names.slice(0, max - 1).join(", ")} and ${names.length - max + 1} more`;
}
