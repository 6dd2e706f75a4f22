import { addUp, noPurges } from "../../dlq/results.js";
import { filterOf } from "../../dlq/filter.js";
import { missingText, namedText, requireAdmin } from "../admin.js";
import { PurgeShape } from "../dlq-schemas.js";
import { defineAgentTool } from "../tool.js";
import { plural } from "../../protocol/words.js";

export const dlqPurgeTool = defineAgentTool(
  {
    name: "dlq_purge",
    title: "Purge dead letters (admin)",
    description:
      "Admin agents only. Deletes dead letters for good: name them (`ids`, from dlq_list) or " +
      "give `all: true` with filter fields (`all: true` alone empties the store).",
    output: PurgeShape,
    annotations: { idempotentHint: true, destructiveHint: true, openWorldHint: false },
  },
  async ({ input, caller, deps: { service } }) => {
    await requireAdmin(service, caller, "dlq_purge");
    if (input.ids === undefined) {
      const tally = await service.purgeMatchingDeadLetters(filterOf(input));
      return { data: tally, text: `dead letters purged: ${tally.purged}` };
    }
    const results = await service.purgeDeadLetters(input.ids);
    const tally = addUp(noPurges(), results);
    return {
      data: { ...tally, results },
      text: `purged ${tally.purged} of ${plural(results.length, "dead letter")}${namedText(results)}${missingText(results)}`,
    };
  },
);
