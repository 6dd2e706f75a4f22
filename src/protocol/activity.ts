import { z } from "zod";

/**
 * What the web console hears on the activity channel (`sb:activity`): each PUBLISH is a
 * JSON array of events, one per change a batch made, so a writer publishes once per
 * batch. Hints for a live view, not a log: a console that missed one re-reads on the
 * next, and a reader refuses nothing that does not parse (it drops it).
 */
const ActivityEventSchema = z.discriminatedUnion("kind", [
  z.object({ kind: z.literal("agent"), name: z.string(), status: z.string() }),
  z.object({
    kind: z.literal("message"),
    message_id: z.string(),
    thread_id: z.string().nullable(),
    status: z.string(),
    from: z.string().nullable(),
  }),
  /** The dead letters changed: the reader counts them. */
  z.object({ kind: z.literal("dead_letters") }),
]);

export type ActivityEvent = z.infer<typeof ActivityEventSchema>;

export function encodeActivity(events: readonly ActivityEvent[]): string {
  return JSON.stringify(events);
}

/** The events of one published payload; none when it does not parse. */
export function decodeActivity(payload: string): ActivityEvent[] {
  let value: unknown;
  try {
    value = JSON.parse(payload);
  } catch {
    return [];
  }
  const parsed = z.array(ActivityEventSchema).safeParse(value);
  return parsed.success ? parsed.data : [];
}
