import { AgentNameSchema, HUMAN_PREFIX } from "./envelope.js";
import { SwitchboardError } from "./errors.js";

/**
 * A person who oversees the agents posts from the web console as `human:<name>`. The
 * prefix cannot start an agent name (`:` is not a name character), so such a sender can
 * never be registered, hold a token or be a recipient: agents see `from: "human:alice"`
 * and know a person wrote it. Nothing answers to it, so no notice is sent back to it.
 */
export function isHumanSender(sender: string): boolean {
  return sender.startsWith(HUMAN_PREFIX);
}

/**
 * The sender a person posts as: `human:<name>`, the name checked as an agent name is.
 * `field` names the input the name came from.
 */
export function humanSender(name: unknown, field: string): string {
  const parsed = AgentNameSchema.safeParse(name);
  if (!parsed.success) {
    const why = parsed.error.issues[0]?.message ?? "expected a name";
    throw new SwitchboardError(
      "INVALID_INPUT",
      `'${field}' is the name you post as, shown to agents as human:<name>: ${why}`,
      { field },
    );
  }
  return `${HUMAN_PREFIX}${parsed.data}`;
}
