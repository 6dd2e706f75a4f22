import { z } from "zod";
import { requireAdmin } from "../admin.js";
import { defineAgentTool } from "../tool.js";

export const clearLoopTool = defineAgentTool(
  {
    name: "clear_loop",
    title: "Lift a loop breaker (admin)",
    description:
      "Admin agents only. Lifts the loop breakers of a thread (`thread_id`: its `thread` and " +
      "`broadcast` budgets) or of two agents (`pair`), so their messages are accepted again " +
      "and counting starts afresh. list_loops shows what is tripped.",
    output: {
      cleared: z
        .array(z.string())
        .describe("The breakers that were tripped and are lifted; empty when none was."),
    },
    annotations: { idempotentHint: true, destructiveHint: false, openWorldHint: false },
  },
  async ({ input, caller, deps: { service } }) => {
    await requireAdmin(service, caller, "clear_loop");
    const cleared = await service.loops.clear(input);
    const what =
      input.pair === undefined ? `thread ${input.thread_id}` : `pair ${input.pair.join(",")}`;
    return {
      data: { cleared },
      text:
        cleared.length === 0
          ? `no loop breaker of ${what} was tripped; nothing to lift`
          : `lifted: ${cleared.join(", ")}`,
    };
  },
);
