import { z } from "zod";
import { plural } from "../../protocol/words.js";
import { defineAgentTool } from "../tool.js";
import { NoteVersionShape } from "./notes-schemas.js";

export const listNotesTool = defineAgentTool(
  {
    name: "list_notes",
    title: "List shared notes",
    description:
      "The team's shared notes, by key (optionally those under a prefix such as `plans/`), each with " +
      "its latest version, author and time; get_note reads one.",
    output: {
      notes: z.array(z.object(NoteVersionShape)),
      truncated: z.boolean().describe("True when more notes match: give a narrower prefix."),
    },
    annotations: { readOnlyHint: true, openWorldHint: false },
  },
  async ({ input, deps: { service } }) => {
    const listed = await service.notes.list(input.prefix);
    const keys = listed.notes.slice(0, 5).map((n) => `${n.key} v${n.version}`);
    const more = listed.notes.length > keys.length ? ", …" : "";
    return {
      data: listed,
      text: `${plural(listed.notes.length, "note")}${keys.length > 0 ? `: ${keys.join(", ")}${more}` : ""}`,
    };
  },
);
