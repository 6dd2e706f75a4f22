import { addUp, noReplays } from "../../dlq/results.js";
import { filterOf } from "../../dlq/filter.js";
import { missingText, namedText, requireAdmin } from "../admin.js";
import { ReplayShape } from "../dlq-schemas.js";
import { defineAgentTool } from "../tool.js";
import { plural } from "../../protocol/words.js";

export const dlqReplayTool = defineAgentTool(
  {
    name: "dlq_replay",
    title: "Replay dead letters (admin)",
    description:
      "Admin agents only. Puts dead letters back into the stage they gave up in, once each: " +
      "replaying one twice reports the first replay. Name them (`ids`, from dlq_list, or a " +
      "message id for each of its dead letters) or give `all: true` with filter fields. Fix the cause first (see `switchboard errors`).",
    output: ReplayShape,
    annotations: { idempotentHint: true, destructiveHint: false, openWorldHint: false },
  },
  async ({ input, caller, deps: { service } }) => {
    await requireAdmin(service, caller, "dlq_replay");
    if (input.ids === undefined) {
      const tally = await service.replayMatchingDeadLetters(filterOf(input));
      return {
        data: tally,
        text: `dead letters replayed: ${tally.replayed} (already replayed: ${tally.already_replayed})`,
      };
    }
    const results = await service.replayDeadLetters(input.ids);
    const tally = addUp(noReplays(), results);
    return {
      data: { ...tally, results },
      text: `replayed ${tally.replayed} of ${plural(results.length, "dead letter")}${namedText(results)}${missingText(results)}`,
    };
  },
);
