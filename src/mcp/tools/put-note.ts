import { z } from "zod";
import { defineAgentTool } from "../tool.js";

export const putNoteTool = defineAgentTool(
  {
    name: "put_note",
    title: "Write a shared note",
    description:
      "Write a small versioned document the team shares (a plan, an API contract, a decision log): " +
      "the whole new text replaces the last version. Give `expected_version` (the version you read) " +
      "so that a concurrent write is refused (VERSION_CONFLICT) instead of lost. Subscribers of " +
      "`switchboard.notes` are told of each change.",
    output: {
      key: z.string(),
      version: z.number().int().describe("The version written."),
      updated_at: z.string(),
      expires_at: z.string().nullable(),
    },
    annotations: { readOnlyHint: false, idempotentHint: false, openWorldHint: false },
  },
  async ({ input, caller, deps: { service } }) => {
    const written = await service.notes.put(caller.agent, input);
    return {
      data: written,
      text: `note ${written.key} is at version ${written.version}`,
    };
  },
);
