import type { RedisClient } from "../redis/client.js";
import type { CredentialsFile } from "../agents/credentials.js";
import { SwitchboardError } from "../protocol/errors.js";
import type { Keys } from "../redis/keys.js";
import { withLock } from "../redis/lock.js";
import type { Switchboard } from "./switchboard.js";

export interface ClaimOptions {
  agent: string;
  /** Given: the registration is updated to these; omitted: kept as it is. */
  capabilities?: string[] | undefined;
  /** SWITCHBOARD_TOKEN: when set, it wins over the credentials file. */
  token?: string | undefined;
  /** Where this machine keeps the agent's token between starts. */
  credentials: CredentialsFile;
}

export interface Claim {
  agent: string;
  token: string;
  /** `env`: SWITCHBOARD_TOKEN; `saved`: the credentials file; `registered`: a new registration. */
  how: "env" | "saved" | "registered";
  /** Registered, but the token could not be kept: why (the caller must show the token). */
  unsaved?: SwitchboardError;
}

export interface ClaimDeps {
  service: Switchboard;
  redis: RedisClient;
  keys: Keys;
}

/**
 * Makes a starting process the agent `--agent` names, at once, so others can reach it
 * before its client calls anything. With SWITCHBOARD_TOKEN: the agent that token belongs
 * to, which must be that one. Without: the token in the credentials file, else a new
 * registration whose token is saved there. Processes starting as the same agent take
 * turns (a Redis lock), so a second one finds the token the first one saved instead of
 * finding the name taken. Never makes a new token for a registered name: a sibling
 * process using the current one keeps working.
 *
 * Throws a {@link SwitchboardError} that says why not and what to do: the caller shows it.
 */
export async function claimAgent(deps: ClaimDeps, options: ClaimOptions): Promise<Claim> {
  if (options.token !== undefined) return claimWithToken(deps.service, options, options.token);
  return withLock(deps.redis, deps.keys.agentClaim(options.agent), () =>
    claimFromFile(deps.service, options),
  );
}

async function claimWithToken(
  service: Switchboard,
  options: ClaimOptions,
  token: string,
): Promise<Claim> {
  const { agent } = options;
  const owner = await service.agentOf(token);
  if (owner === agent) {
    await keepRegistration(service, options, token);
    return { agent, token, how: "env" };
  }
  if (owner !== undefined) {
    throw new SwitchboardError(
      "UNAUTHENTICATED",
      `SWITCHBOARD_TOKEN belongs to agent '${owner}', not '${agent}'; start with --agent ${owner}, or set the token of '${agent}'`,
    );
  }
  const registered = await service.isRegistered(agent);
  throw new SwitchboardError(
    "UNAUTHENTICATED",
    registered
      ? `SWITCHBOARD_TOKEN is not the token of agent '${agent}' (nor of any agent): mistyped, or an operator gave '${agent}' a new one with \`switchboard agents token ${agent} --rotate\`; set SWITCHBOARD_TOKEN to its current token, or unset it to use the one kept in ${options.credentials.path}`
      : `SWITCHBOARD_TOKEN belongs to no agent, and no agent '${agent}' is registered (it was removed, or Redis lost its data); unset SWITCHBOARD_TOKEN to register '${agent}' anew (its token is then kept in ${options.credentials.path})`,
  );
}

async function claimFromFile(service: Switchboard, options: ClaimOptions): Promise<Claim> {
  const { agent, credentials } = options;
  const saved = await credentials.read();
  if (saved !== undefined) {
    const owner = await service.agentOf(saved);
    if (owner === agent) {
      await keepRegistration(service, options, saved);
      return { agent, token: saved, how: "saved" };
    }
    if (owner !== undefined || (await service.isRegistered(agent))) {
      throw rotatedAway(agent, credentials.path);
    }
    // The name is free (removed, or Redis lost its data): the saved token is dead; register anew.
  }
  await credentials.prepare();
  let token: string;
  try {
    ({ token } = await service.register({ name: agent, capabilities: options.capabilities }));
  } catch (error) {
    if (error instanceof SwitchboardError && error.code === "NAME_TAKEN") {
      throw nameTaken(agent, credentials.path, error);
    }
    throw error;
  }
  try {
    await credentials.save(token);
  } catch (error) {
    if (!(error instanceof SwitchboardError)) throw error;
    return { agent, token, how: "registered", unsaved: error };
  }
  return { agent, token, how: "registered" };
}

/** Updates the capabilities when given; else records the contact. */
async function keepRegistration(
  service: Switchboard,
  options: ClaimOptions,
  token: string,
): Promise<void> {
  if (options.capabilities === undefined) await service.touch(options.agent);
  else await service.register({ name: options.agent, capabilities: options.capabilities }, token);
}

function rotatedAway(agent: string, path: string): SwitchboardError {
  return new SwitchboardError(
    "UNAUTHENTICATED",
    `the token kept in ${path} is no longer the token of agent '${agent}': an operator gave it a new one ` +
      `(\`switchboard agents token ${agent} --rotate\`); set SWITCHBOARD_TOKEN to that token, or run ` +
      `\`switchboard agents token ${agent} --rotate\` on this machine to make another and keep it in that file ` +
      "(whoever holds the current one is then cut off)",
  );
}

function nameTaken(agent: string, path: string, cause: unknown): SwitchboardError {
  return new SwitchboardError(
    "NAME_TAKEN",
    `agent name '${agent}' is registered already, and this machine keeps no token for it (${path}); ` +
      `set SWITCHBOARD_TOKEN to its token, have an operator run \`switchboard agents token ${agent} --rotate\` ` +
      `(with --save on this machine, the new token is kept in that file), or start with another --agent`,
    { cause },
  );
}
