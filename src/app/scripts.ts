import type { RedisClient } from "../redis/client.js";
import {
  registerScript,
  rotateTokenScript,
  setRoleScript,
  setStatusScript,
} from "../agents/scripts.js";
import { replayScript } from "../dlq/replay.js";
import {
  inboxAckScript,
  inboxAppendScript,
  inboxDigestScript,
  inboxSkipTakenScript,
  inboxTakeScript,
} from "../inbox/scripts.js";
import { takeTokensScript } from "../ingress/send-rate.js";
import {
  acquireResourceLeaseScript,
  changeResourceLeaseScript,
  reapResourceLeasesScript,
} from "../leases/scripts.js";
import {
  noteHistoryScript,
  notePutScript,
  noteReadScript,
  notesPruneScript,
} from "../notes/scripts.js";
import { loopCountScript } from "../loops/scripts.js";
import { commitScript } from "../pipeline/commit-script.js";
import { unlockScript } from "../redis/lock.js";
import { acquireLeaseScript, keepLeaseScript } from "../streams/lease.js";
import { breakerScript } from "../webhook/breaker.js";

/**
 * Every Lua script, each defined beside the module that calls it (its field names come
 * from that domain's tables, which redis/ must not import). The composition root gathers
 * them, as it gathers every other part.
 */
const SCRIPTS = [
  commitScript,
  inboxAppendScript,
  inboxAckScript,
  inboxTakeScript,
  inboxSkipTakenScript,
  inboxDigestScript,
  registerScript,
  setStatusScript,
  setRoleScript,
  rotateTokenScript,
  breakerScript,
  replayScript,
  takeTokensScript,
  loopCountScript,
  unlockScript,
  acquireLeaseScript,
  keepLeaseScript,
  acquireResourceLeaseScript,
  changeResourceLeaseScript,
  reapResourceLeasesScript,
  notePutScript,
  noteReadScript,
  noteHistoryScript,
  notesPruneScript,
];

/**
 * Makes every script callable on a connection (idempotent): call it before using the
 * connection, and before making batches from it (a batch copies the scripts it finds).
 */
export function defineScripts<C extends RedisClient>(redis: C): C {
  for (const script of SCRIPTS) script.define(redis);
  return redis;
}
