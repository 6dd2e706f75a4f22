import { z } from "zod";
import { requireAdmin } from "../admin.js";
import { defineAgentTool } from "../tool.js";
import { plural } from "../../protocol/words.js";

/** A tripped loop breaker, as the service lists it. */
export const TrippedLoopSchema = z.object({
  breaker: z.string().describe("`pair:alice,bob`, `thread:ID` or `broadcast:ID`."),
  rule: z.enum(["pair", "thread", "broadcast"]),
  agents: z.array(z.string()).describe("The pair, or the senders counted in the thread."),
  thread_id: z.string().describe("The thread of the message that tripped it."),
  messages: z.number().int().describe("The budget it went over: messages…"),
  window_seconds: z.number().int().describe("…within this many seconds."),
  tripped_at: z.string(),
  resets_at: z.string().describe("When it lifts by itself, unless cleared sooner."),
});

export const listLoopsTool = defineAgentTool(
  {
    name: "list_loops",
    title: "List tripped loop breakers (admin)",
    description:
      "Admin agents only. The loop and storm breakers tripped now: two agents, a thread or a " +
      "thread's broadcasts that went over their `loops` budget, whose messages are refused " +
      "(LOOP_DETECTED) until `resets_at`. Lift one with clear_loop.",
    output: { loops: z.array(TrippedLoopSchema) },
    annotations: { readOnlyHint: true, openWorldHint: false },
  },
  async ({ caller, deps: { service } }) => {
    await requireAdmin(service, caller, "list_loops");
    const loops = await service.loops.list();
    const names = loops.map((loop) => loop.breaker).join(", ");
    return {
      data: { loops },
      text: `${plural(loops.length, "tripped loop breaker")}${names === "" ? "" : `: ${names}`}`,
    };
  },
);
