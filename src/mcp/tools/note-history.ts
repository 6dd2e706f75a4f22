import { z } from "zod";
import { plural } from "../../protocol/words.js";
import { defineAgentTool } from "../tool.js";

export const noteHistoryTool = defineAgentTool(
  {
    name: "note_history",
    title: "History of a shared note",
    description:
      "Who changed a shared note and when: its kept versions (the last 50), newest first, with " +
      "their authors, times and sizes. get_note with `version` reads one.",
    output: {
      key: z.string(),
      version: z.number().int().describe("The current version."),
      expires_at: z.string().nullable(),
      versions: z.array(
        z.object({
          version: z.number().int(),
          updated_by: z.string(),
          updated_at: z.string(),
          bytes: z.number().int().describe("The content's size, in bytes."),
        }),
      ),
    },
    annotations: { readOnlyHint: true, openWorldHint: false },
  },
  async ({ input, deps: { service } }) => {
    const history = await service.notes.history(input.key);
    const authors = [...new Set(history.versions.map((v) => v.updated_by))].join(", ");
    return {
      data: history,
      text: `note ${history.key} is at version ${history.version}; ${plural(history.versions.length, "version")} kept, by ${authors}`,
    };
  },
);
