import { ToolOutputs } from "../../protocol/tool-outputs.js";
import { preview } from "../text.js";
import { defineAgentTool } from "../tool.js";
import { plural } from "../../protocol/words.js";

export const getThreadTool = defineAgentTool(
  {
    name: "get_thread",
    title: "Get a thread",
    description:
      "The messages of a conversation that you sent or received, in order (by `seq`), " +
      "with their delivery status. Every message carries its `thread_id`.",
    output: ToolOutputs.get_thread,
    annotations: { readOnlyHint: true, openWorldHint: false },
  },
  async ({ input, caller, deps: { service } }) => {
    const messages = await service.getThread(caller.agent, input.thread_id);
    const last = messages.at(-1);
    const latest = last === undefined ? "" : `; latest from ${last.from}: ${preview(last)}`;
    return {
      data: { thread_id: input.thread_id, messages },
      text: `thread ${input.thread_id}: ${plural(messages.length, "message")}${latest}`,
    };
  },
);
