import { z } from "zod";
import { defineAgentTool } from "../tool.js";

/** What subscribe_topic and unsubscribe_topic return. */
export const TopicOutput = {
  topic: z.string(),
  subscribed: z.boolean().describe("Whether you are subscribed now."),
  changed: z.boolean().describe("False when it already was so."),
};

export const subscribeTopicTool = defineAgentTool(
  {
    name: "subscribe_topic",
    title: "Subscribe to a topic",
    description:
      "Receive every message sent to a topic from now on, in your inbox. " +
      "`switchboard.agents` tells you when agents come online, go idle or offline.",
    output: TopicOutput,
    annotations: { readOnlyHint: false, idempotentHint: true, openWorldHint: false },
  },
  async ({ input, caller, deps: { service } }) => {
    const changed = await service.subscribe(caller.agent, input.topic);
    return {
      data: { topic: input.topic, subscribed: true, changed },
      text: changed ? `subscribed to ${input.topic}` : `already subscribed to ${input.topic}`,
    };
  },
);
