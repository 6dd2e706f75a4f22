import { sendCommands } from "../redis/batch.js";
import type { RedisClient } from "../redis/client.js";
import type { Pipeline } from "../config/pipeline.js";
import type { ErrorInfo } from "../protocol/errors.js";
import type { RecipientStatus } from "../protocol/status.js";
import { Field, type FieldList } from "../streams/entry.js";
import type { Keys } from "../redis/keys.js";
import { Partitions } from "../streams/partitions.js";

export interface StatusReport {
  messageId: string;
  recipient: string;
  status: RecipientStatus;
  error?: ErrorInfo;
  /** The trace context persist's span continues (see `tracing.ts`). */
  traceparent?: string | undefined;
}

/**
 * Tells persist what happened at an inbox (read, acked, expired) by appending status
 * entries to its stream, like any stage does: persist stays the one writer of history.
 * A status only moves up in rank, whatever order persist sees them in, so a report may go
 * to any partition: to the one its message id hashes to, which spreads them.
 */
export async function reportStatuses(
  redis: RedisClient,
  keys: Keys,
  pipeline: Pipeline,
  reports: readonly StatusReport[],
): Promise<void> {
  if (reports.length === 0) return;
  const partitions = new Partitions(keys, pipeline.partitions);
  await sendCommands(redis, (batch) => {
    for (const r of reports) {
      const stream = partitions.of(r.messageId).stream(pipeline.stages.persist.stream);
      const fields: FieldList = [
        Field.kind,
        "status",
        Field.messageId,
        r.messageId,
        Field.recipient,
        r.recipient,
        Field.status,
        r.status,
        Field.stage,
        "inbox",
      ];
      if (r.error !== undefined) fields.push(Field.error, JSON.stringify(r.error));
      if (r.traceparent !== undefined) fields.push(Field.traceparent, r.traceparent);
      batch.xadd(stream, "*", ...fields);
    }
  });
}
