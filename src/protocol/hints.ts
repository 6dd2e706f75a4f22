/**
 * What to do next after an error, worded for each surface a person or agent meets it on:
 * an agent over MCP reads tool names and headers, a person at the `switchboard` CLI reads
 * commands and options. An error carries the key of its hint
 * (`new SwitchboardError(code, message, { hint })`); each surface words it its own way
 * ({@link SwitchboardError.messageFor}). The error's plain `message` carries the MCP
 * wording, since errors cross processes (tool results, dead letters, the error history)
 * and agents are their first readers.
 */

/** Where an error is read: an MCP tool result, or the `switchboard` command line. */
export type Surface = "mcp" | "cli";

export const HINTS = {
  /** An agent name that is not registered. */
  listAgents: {
    mcp: "list_agents shows who is registered",
    cli: "`switchboard agents` shows who is registered",
  },
  /** A name registered by someone else's token. */
  presentToken: {
    mcp: "present its token (Authorization: Bearer … or SWITCHBOARD_TOKEN) to act as it, or choose another name",
    cli: "give its token with --token to update it, or choose another name",
  },
  /** A malformed dead-letter id. */
  listDeadLetters: {
    mcp: "list them with dlq_list",
    cli: "list them with `switchboard dlq list`",
  },
  /** A tripped loop breaker (LOOP_DETECTED). */
  clearLoop: {
    mcp: "an admin agent may lift it sooner with clear_loop",
    cli: "`switchboard loops list` shows it, `switchboard loops clear` lifts it sooner",
  },
} as const satisfies Record<string, Record<Surface, string>>;

export type HintKey = keyof typeof HINTS;

/** A hint as one surface words it. */
export function hintFor(key: HintKey, surface: Surface): string {
  return HINTS[key][surface];
}
