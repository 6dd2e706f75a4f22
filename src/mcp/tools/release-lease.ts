import { LeaseSchema, leaseText } from "../lease-schemas.js";
import { defineAgentTool } from "../tool.js";

export const releaseLeaseTool = defineAgentTool(
  {
    name: "release_lease",
    title: "Release a lease",
    description:
      "End your lease now, when done with its resources; agents that were refused because of it are told. " +
      "Only its holder can release it. LEASE_EXPIRED if it had run out already.",
    output: { lease: LeaseSchema },
    annotations: { readOnlyHint: false, idempotentHint: false, openWorldHint: false },
  },
  async ({ input, caller, deps: { service } }) => {
    const lease = await service.leases.release(caller.agent, input.lease_id);
    return { data: { lease }, text: `released ${leaseText(lease)}` };
  },
);
