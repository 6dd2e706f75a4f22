import { LeaseSchema, leaseText } from "../lease-schemas.js";
import { defineAgentTool } from "../tool.js";

export const renewLeaseTool = defineAgentTool(
  {
    name: "renew_lease",
    title: "Renew a lease",
    description:
      "Extend your lease to `ttl_seconds` from now; its fencing token stays. Refused with LEASE_EXPIRED " +
      "(naming who holds the resources now) if it already ran out or was broken: acquire_lease again.",
    output: { lease: LeaseSchema },
    annotations: { readOnlyHint: false, idempotentHint: true, openWorldHint: false },
  },
  async ({ input, caller, deps: { service } }) => {
    const lease = await service.leases.renew(caller.agent, input.lease_id, input.ttl_seconds);
    return { data: { lease }, text: `renewed ${leaseText(lease)}` };
  },
);
