import type { RoutingRule } from "../../config/pipeline.js";
import { globMatches } from "../../protocol/capabilities.js";
import type { Target } from "../../protocol/envelope.js";
import type { Directory } from "./directory.js";

export interface Resolution {
  /** Who gets the message, each once. */
  recipients: string[];
  /** Named recipients that do not exist, with why. */
  unknown: string[];
  /** Why nobody gets it, when `recipients` is empty. */
  reason: string | undefined;
}

/** What routing looks at: who sends, to what target, of what type. */
export interface Routable {
  from: string;
  to: Target;
  type: string;
}

/** Everybody a message goes to: its target, plus what the routing rules add. */
export async function resolve(
  envelope: Routable,
  directory: Directory,
  rules: readonly RoutingRule[],
): Promise<Resolution> {
  const sender = envelope.from;
  const primary = await resolveTarget(envelope.to, sender, directory);
  const extra = await Promise.all(
    rules
      .filter((rule) => ruleMatches(rule, envelope))
      .map((rule) => resolveRule(rule, sender, directory)),
  );
  const recipients = [...new Set([...primary.recipients, ...extra.flat()])];
  return {
    recipients,
    unknown: primary.unknown,
    reason: recipients.length > 0 ? undefined : (primary.reason ?? describeNobody(envelope.to)),
  };
}

async function resolveTarget(
  target: Target,
  sender: string,
  directory: Directory,
): Promise<Resolution> {
  const none = { unknown: [], reason: undefined };
  switch (target.kind) {
    case "agents": {
      const named = [...new Set(target.agents)];
      const unknown = await directory.unknown(named);
      const recipients = named.filter((name) => !unknown.includes(name));
      const reason =
        unknown.length > 0
          ? `no agent named ${unknown.map((n) => `'${n}'`).join(", ")} is registered`
          : undefined;
      return { recipients, unknown, reason };
    }
    case "broadcast": {
      const agents =
        target.capability === undefined
          ? directory.all()
          : directory.withCapability(target.capability);
      return { recipients: agents.map((a) => a.name).filter((n) => n !== sender), ...none };
    }
    case "capability":
      if (target.mode === "all") {
        return {
          recipients: directory
            .withCapability(target.capability)
            .map((a) => a.name)
            .filter((n) => n !== sender),
          ...none,
        };
      }
      return { recipients: await pickAny(target.capability, sender, directory), ...none };
    case "topic":
      return {
        recipients: (await directory.subscribers(target.topic)).filter((n) => n !== sender).sort(),
        ...none,
      };
  }
}

/**
 * One agent for `mode: any`: an online agent with the capability (idle ones when none is
 * online), never the sender; the smallest backlog first, ties taken in turn.
 */
async function pickAny(
  capability: string,
  sender: string,
  directory: Directory,
): Promise<string[]> {
  for (const status of ["online", "idle"] as const) {
    const candidates = directory
      .withCapability(capability, status)
      .map((a) => a.name)
      .filter((n) => n !== sender)
      .sort();
    if (candidates.length === 0) continue;
    const backlogs = await directory.backlogs(candidates);
    const least = Math.min(...backlogs);
    const tied = candidates.filter((_, i) => backlogs[i] === least);
    const turn = tied.length === 1 ? 0 : await directory.nextTurn(capability);
    return [tied[turn % tied.length]!];
  }
  return [];
}

function ruleMatches(rule: RoutingRule, envelope: Routable): boolean {
  const { type, from } = rule.match;
  return (
    (type === undefined || globMatches(type, envelope.type)) &&
    (from === undefined || from === envelope.from)
  );
}

async function resolveRule(
  rule: RoutingRule,
  sender: string,
  directory: Directory,
): Promise<string[]> {
  const { also } = rule;
  let names: string[];
  if (also.capability !== undefined)
    names = directory.withCapability(also.capability).map((a) => a.name);
  else if (also.topic !== undefined) names = await directory.subscribers(also.topic);
  else {
    const unknown = await directory.unknown(also.agents ?? []);
    names = (also.agents ?? []).filter((n) => !unknown.includes(n));
  }
  return names.filter((n) => n !== sender);
}

function describeNobody(target: Target): string {
  switch (target.kind) {
    case "agents":
      return "none of the named agents is registered";
    case "broadcast":
      return target.capability === undefined
        ? "no other agent is registered"
        : `no other agent has capability '${target.capability}'`;
    case "capability":
      return target.mode === "any"
        ? `no online or idle agent (other than the sender) has capability '${target.capability}'`
        : `no other agent has capability '${target.capability}'`;
    case "topic":
      return `no other agent subscribes to topic '${target.topic}'`;
  }
}
