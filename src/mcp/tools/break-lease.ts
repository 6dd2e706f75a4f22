import { requireAdmin } from "../admin.js";
import { LeaseSchema, leaseText } from "../lease-schemas.js";
import { defineAgentTool } from "../tool.js";

export const breakLeaseTool = defineAgentTool(
  {
    name: "break_lease",
    title: "Break a lease (admin)",
    description:
      "Admin agents only. End someone's lease now (a stuck or runaway holder); the holder and the agents " +
      "waiting for it are told, and its fencing token turns stale.",
    output: { lease: LeaseSchema },
    annotations: { readOnlyHint: false, destructiveHint: true, openWorldHint: false },
  },
  async ({ input, caller, deps: { service } }) => {
    await requireAdmin(service, caller, "break_lease");
    const lease = await service.leases.breakLease(caller.agent, input.lease_id, input.reason);
    return { data: { lease }, text: `broke ${leaseText(lease)} of '${lease.holder}'` };
  },
);
