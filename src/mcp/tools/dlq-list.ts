import { z } from "zod";
import { filterOf } from "../../dlq/filter.js";
import { requireAdmin } from "../admin.js";
import { DeadLetterSchema } from "../dlq-schemas.js";
import { defineAgentTool } from "../tool.js";
import { plural } from "../../protocol/words.js";

export const dlqListTool = defineAgentTool(
  {
    name: "dlq_list",
    title: "List dead letters (admin)",
    description:
      "Admin agents only. What gave up after its retries (or was handed out too often), newest " +
      "first: stage, error code and message, sender and recipient, attempts. Filter by agent, " +
      "stage, code, category and age; page on with `after`. Replay with dlq_replay.",
    output: {
      dead_letters: z.array(DeadLetterSchema),
      next_cursor: z
        .string()
        .nullable()
        .describe("Pass as `after` for the next page; null at the end."),
      depth: z.number().int().describe("Dead letters in the store, matching or not."),
    },
    annotations: { readOnlyHint: true, openWorldHint: false },
  },
  async ({ input, caller, deps: { service } }) => {
    await requireAdmin(service, caller, "dlq_list");
    const page = await service.listDeadLetters(filterOf(input), {
      limit: input.limit,
      after: input.after,
    });
    const more = page.next_cursor === null ? "" : `; more after ${page.next_cursor}`;
    return {
      data: page,
      text: `${page.dead_letters.length} of ${plural(page.depth, "dead letter")}${more}`,
    };
  },
);
