import { z } from "zod";
import { defineAgentTool } from "../tool.js";
import { NoteVersionShape } from "./notes-schemas.js";

export const getNoteTool = defineAgentTool(
  {
    name: "get_note",
    title: "Read a shared note",
    description:
      "A shared note's latest version (or an earlier one: the last 50 are kept), with who wrote it " +
      "and when. Pass its `version` as put_note's `expected_version` when you change it.",
    output: { ...NoteVersionShape, content: z.string() },
    annotations: { readOnlyHint: true, openWorldHint: false },
  },
  async ({ input, deps: { service } }) => {
    const note = await service.notes.get(input.key, input.version);
    return {
      data: note,
      text: `note ${note.key} version ${note.version}, by ${note.updated_by} at ${note.updated_at}`,
    };
  },
);
