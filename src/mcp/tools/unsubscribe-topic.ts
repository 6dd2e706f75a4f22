import { defineAgentTool } from "../tool.js";
import { TopicOutput } from "./subscribe-topic.js";

export const unsubscribeTopicTool = defineAgentTool(
  {
    name: "unsubscribe_topic",
    title: "Unsubscribe from a topic",
    description: "Stop receiving a topic's messages. Mail already in your inbox stays.",
    output: TopicOutput,
    annotations: { readOnlyHint: false, idempotentHint: true, openWorldHint: false },
  },
  async ({ input, caller, deps: { service } }) => {
    const changed = await service.unsubscribe(caller.agent, input.topic);
    return {
      data: { topic: input.topic, subscribed: false, changed },
      text: changed ? `unsubscribed from ${input.topic}` : `was not subscribed to ${input.topic}`,
    };
  },
);
