import { z } from "zod";

/** What put_note, get_note and list_notes say about a version of a note. */
export const NoteVersionShape = {
  key: z.string(),
  version: z.number().int().describe("Versions start at 1 and go up by 1 with each write."),
  updated_by: z.string().describe("The agent that wrote this version."),
  updated_at: z.string().describe("When it was written (ISO 8601)."),
  expires_at: z.string().nullable().describe("When the whole note expires; null for never."),
};
