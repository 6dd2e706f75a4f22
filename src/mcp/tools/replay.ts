import { z } from "zod";
import { ReplayedMessageSchema } from "../../protocol/tool-outputs.js";
import { defineAgentTool } from "../tool.js";
import { plural } from "../../protocol/words.js";

export const replayTool = defineAgentTool(
  {
    name: "replay",
    title: "Replay messages",
    description:
      "Read messages again without taking or acking anything: a thread in order (`thread_id`), " +
      "or everything your inbox received after a cursor (`after`, an inbox_id; `0` for all). " +
      "Page on with `next_cursor`. Use it to rebuild your state after a restart.",
    output: {
      messages: z.array(ReplayedMessageSchema),
      next_cursor: z
        .string()
        .nullable()
        .describe("Pass as `after` for the next page; null at the end."),
    },
    annotations: { readOnlyHint: true, idempotentHint: true, openWorldHint: false },
  },
  async ({ input, caller, deps: { service } }) => {
    const page = await service.replay(caller.agent, input);
    const more = page.next_cursor === null ? "" : `; more after ${page.next_cursor}`;
    return { data: page, text: `${plural(page.messages.length, "message")}${more}` };
  },
);
