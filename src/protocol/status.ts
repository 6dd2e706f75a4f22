/**
 * Where a message stands for one recipient. A status only moves up in rank, so events
 * that arrive late or twice never move it back; the failures are final, unless an
 * operator replays the dead letter: `replayed` starts the status anew (only what came
 * after it counts).
 */
export const RECIPIENT_STATUS_RANK = {
  replayed: 0,
  queued: 1,
  retrying: 2,
  delivered: 3,
  read: 4,
  acked: 5,
  expired: 6,
  rejected: 6,
  undeliverable: 6,
  dead_lettered: 6,
} as const;

export type RecipientStatus = keyof typeof RECIPIENT_STATUS_RANK;

/** Where a message stands as a whole, before or instead of any recipient. */
export type MessageStatus =
  | "replayed"
  | "accepted"
  | "retrying"
  | "routed"
  | "rejected"
  | "expired"
  | "undeliverable"
  | "dead_lettered";

export const MESSAGE_STATUS_RANK: Record<MessageStatus, number> = {
  replayed: 0,
  accepted: 0,
  retrying: 1,
  routed: 2,
  expired: 6,
  rejected: 6,
  undeliverable: 6,
  dead_lettered: 6,
};

export const FAILURE_STATUSES = ["rejected", "expired", "undeliverable", "dead_lettered"] as const;
export type FailureStatus = (typeof FAILURE_STATUSES)[number];
