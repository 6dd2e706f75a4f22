import type { ToolRegistration } from "../tool.js";
import { acquireLeaseTool } from "./acquire-lease.js";
import { ackMessagesTool } from "./ack-messages.js";
import { breakLeaseTool } from "./break-lease.js";
import { clearLoopTool } from "./clear-loop.js";
import { dlqListTool } from "./dlq-list.js";
import { dlqPurgeTool } from "./dlq-purge.js";
import { dlqReplayTool } from "./dlq-replay.js";
import { getNoteTool } from "./get-note.js";
import { listNotesTool } from "./list-notes.js";
import { noteHistoryTool } from "./note-history.js";
import { putNoteTool } from "./put-note.js";
import { fetchInboxTool } from "./fetch-inbox.js";
import { getMessageTool } from "./get-message.js";
import { getThreadTool } from "./get-thread.js";
import { heartbeatTool } from "./heartbeat.js";
import { listAgentsTool } from "./list-agents.js";
import { listLeasesTool } from "./list-leases.js";
import { listLoopsTool } from "./list-loops.js";
import { registerAgentTool } from "./register-agent.js";
import { releaseLeaseTool } from "./release-lease.js";
import { renewLeaseTool } from "./renew-lease.js";
import { replayTool } from "./replay.js";
import { sendMessageTool } from "./send-message.js";
import { subscribeTopicTool } from "./subscribe-topic.js";
import { unregisterAgentTool } from "./unregister-agent.js";
import { unsubscribeTopicTool } from "./unsubscribe-topic.js";

/** Every tool, in the order tools/list shows them. */
export const TOOLS: readonly ToolRegistration[] = [
  registerAgentTool,
  unregisterAgentTool,
  heartbeatTool,
  listAgentsTool,
  sendMessageTool,
  fetchInboxTool,
  ackMessagesTool,
  getMessageTool,
  getThreadTool,
  subscribeTopicTool,
  unsubscribeTopicTool,
  replayTool,
  dlqListTool,
  dlqReplayTool,
  dlqPurgeTool,
  acquireLeaseTool,
  renewLeaseTool,
  releaseLeaseTool,
  listLeasesTool,
  breakLeaseTool,
  putNoteTool,
  getNoteTool,
  listNotesTool,
  noteHistoryTool,
  listLoopsTool,
  clearLoopTool,
];
