import { InvalidArgumentError, Option, type Command } from "commander";
import { STAGE_NAMES } from "../../config/pipeline.js";
import type { DeadLetterFilter } from "../../dlq/entry.js";
import {
  ERROR_CATEGORIES,
  ERROR_CODES,
  isErrorCode,
  type ErrorCategory,
} from "../../protocol/errors.js";
import { usageError } from "../errors.js";
import { duration } from "../options.js";

/** The options of `switchboard dlq` that select dead letters, and what they select. */

export interface FilterOptions {
  agent?: string;
  stage?: string;
  code?: string;
  category?: ErrorCategory;
  olderThan?: number;
  newerThan?: number;
}

export interface ActOptions extends FilterOptions {
  all?: boolean;
  yes?: boolean;
  json?: boolean;
}

const FILTER_FLAGS: Record<keyof FilterOptions, string> = {
  agent: "--agent",
  stage: "--stage",
  code: "--code",
  category: "--category",
  olderThan: "--older-than",
  newerThan: "--newer-than",
};

/** Adds the filter options to a command. */
export function withFilters(command: Command): Command {
  return command
    .option("--agent <name>", "only those from or to this agent")
    .addOption(new Option("--stage <stage>", "only those of this stage").choices(STAGE_NAMES))
    .addOption(
      new Option(
        "--code <code>",
        "only those with this error code, e.g. WEBHOOK_TIMEOUT",
      ).argParser(errorCode),
    )
    .addOption(
      new Option("--category <category>", "only those in this error category").choices(
        ERROR_CATEGORIES,
      ),
    )
    .addOption(
      new Option(
        "--older-than <age>",
        "only those dead-lettered longer ago, e.g. 30s, 5m, 2h, 1d",
      ).argParser(duration),
    )
    .addOption(
      new Option("--newer-than <age>", "only those dead-lettered more recently, e.g. 1h").argParser(
        duration,
      ),
    );
}

/** An error code, in any case, for commander. */
function errorCode(value: string): string {
  const code = value.trim().toUpperCase();
  if (!isErrorCode(code)) {
    throw new InvalidArgumentError(
      `unknown code; the codes are ${Object.keys(ERROR_CODES).join(", ")}.`,
    );
  }
  return code;
}

/** The options as the store's filter. */
export function filterOf(options: FilterOptions): DeadLetterFilter {
  return {
    agent: options.agent,
    stage: options.stage,
    code: options.code,
    category: options.category,
    olderThanMs: options.olderThan,
    newerThanMs: options.newerThan,
  };
}

/**
 * The filter of an `--all` action, or undefined when ids are given; a usage error for
 * neither, both, or filters without `--all`.
 */
export function selection(
  ids: readonly string[],
  options: ActOptions,
): DeadLetterFilter | undefined {
  if (options.all === true) {
    if (ids.length > 0) throw usageError("give dead-letter ids or --all, not both", "--all");
    return filterOf(options);
  }
  const given = (Object.keys(FILTER_FLAGS) as (keyof FilterOptions)[]).find(
    (key) => options[key] !== undefined,
  );
  if (given !== undefined) {
    const flag = FILTER_FLAGS[given];
    throw usageError(`${flag} selects dead letters for --all; add --all, or give ids only`, flag);
  }
  if (ids.length === 0) {
    throw usageError(
      "name the dead letters by id (see `switchboard dlq list`), or give --all with filters",
    );
  }
  return undefined;
}
