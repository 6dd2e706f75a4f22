import { AcquireShape } from "../lease-schemas.js";
import { defineAgentTool } from "../tool.js";

export const acquireLeaseTool = defineAgentTool(
  {
    name: "acquire_lease",
    title: "Acquire a lease",
    description:
      "Lease files, globs (`src/auth/**`) or names (`build-slot`) for `ttl_seconds`, before working on them: " +
      "all or nothing. Refused (nothing granted) when another lease holds an overlapping resource and either " +
      "is exclusive; `conflicts` names each holder and when its lease expires, and `wait_seconds` waits for them " +
      "to clear. A grant carries a `fencing_token` larger than every earlier one: show it with your writes " +
      "(SWITCHBOARD_FENCING_TOKEN for the guard hook). Renew before `expires_at`, release when done.",
    output: AcquireShape,
    annotations: { readOnlyHint: false, idempotentHint: false, openWorldHint: false },
  },
  async ({ input, caller, ctx, deps: { service } }) => {
    const result = await service.leases.acquire(caller.agent, input, ctx.mcpReq.signal);
    if (result.lease_id !== null) {
      return {
        data: result,
        text: `granted lease ${result.lease_id} on ${result.granted.join(", ")} (fencing token ${result.fencing_token}, until ${result.expires_at})`,
      };
    }
    const first = result.conflicts[0]!;
    return {
      data: result,
      text:
        `refused: ${first.resource} overlaps ${first.held}, held by '${first.holder}' (lease ${first.lease_id}, until ${first.expires_at})` +
        (result.conflicts.length > 1 ? ` and ${result.conflicts.length - 1} more conflicts` : "") +
        "; wait (wait_seconds), or ask the holder; you will get a message when it ends",
    };
  },
);
