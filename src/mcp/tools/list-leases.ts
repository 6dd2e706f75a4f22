import { z } from "zod";
import { plural } from "../../protocol/words.js";
import { LeaseSchema } from "../lease-schemas.js";
import { defineAgentTool } from "../tool.js";

export const listLeasesTool = defineAgentTool(
  {
    name: "list_leases",
    title: "List leases",
    description:
      "The live leases of the team, soonest to expire first: on resources overlapping `resource` " +
      "(a path, glob or name) and of `holder`, when given.",
    output: { leases: z.array(LeaseSchema) },
    annotations: { readOnlyHint: true, openWorldHint: false },
  },
  async ({ input, deps: { service } }) => {
    const leases = await service.leases.list(input);
    const text = leases
      .slice(0, 5)
      .map((l) => `${l.holder}: ${l.resources.join(", ")} until ${l.expires_at}`)
      .join("; ");
    return {
      data: { leases },
      text: `${plural(leases.length, "live lease")}${text === "" ? "" : `: ${text}`}${leases.length > 5 ? "; …" : ""}`,
    };
  },
);
