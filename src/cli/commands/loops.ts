import type { Command } from "commander";
import { TrippedLoops, type TrippedLoop } from "../../loops/tripped.js";
import { describeIssues } from "../../protocol/issues.js";
import { ToolInputs } from "../../protocol/tools.js";
import { plural } from "../../protocol/words.js";
import { usageError } from "../errors.js";
import { globalOptions, splitList, withExamples } from "../options.js";
import { noteUnusedPrefix } from "../presence.js";
import { withRuntime } from "../runtime.js";
import { formatDuration, formatTable, truncate } from "../table.js";

/** How the fields of `clear_loop` are given on the command line. */
const OPTION_OF_FIELD: Readonly<Record<string, string>> = { thread_id: "THREAD", pair: "--pair" };

/** `switchboard loops`: the tripped loop and storm breakers, and lifting them. */
export function registerLoops(program: Command): void {
  const loops = program
    .command("loops")
    .description("list the tripped loop and storm breakers (and lift one)");
  const list = loops
    .command("list", { isDefault: true })
    .description("list the tripped breakers, the one that resets first first (the default)")
    .option("--json", "print a JSON array")
    .action(listLoops);
  loops.addHelpText(
    "after",
    "\nA breaker trips when two agents (pair), a thread, or a thread's broadcasts go over\n" +
      "their budget in the pipeline file's `loops` block; their messages are then refused\n" +
      "with LOOP_DETECTED until it resets (resets_at) or is lifted here.",
  );
  withExamples(loops, [
    "switchboard loops",
    "switchboard loops --json",
    "switchboard loops clear 01933c1e-…",
    "switchboard loops clear --pair alice,bob",
  ]);
  withExamples(list, ["switchboard loops list --json"]);

  const clear = loops
    .command("clear [thread]")
    .description(
      "lift the breakers of a thread (its thread and broadcast budgets) or, with --pair, of two agents",
    )
    .option("--pair <a,b>", "the two agents whose breaker to lift, e.g. alice,bob")
    .option("--json", "print {cleared: [...]} as JSON")
    .action(clearLoop);
  withExamples(clear, [
    "switchboard loops clear 01933c1e-…",
    "switchboard loops clear --pair alice,bob",
  ]);
}

async function listLoops(options: { json?: boolean }, command: Command): Promise<void> {
  const loops = await withRuntime(globalOptions(command), async (runtime) => {
    await noteUnusedPrefix(runtime);
    return new TrippedLoops(runtime.redis, runtime.keys).list();
  });
  if (options.json === true) process.stdout.write(`${JSON.stringify(loops, null, 2)}\n`);
  else process.stdout.write(`${formatLoops(loops, Date.now())}\n`);
}

export function formatLoops(loops: readonly TrippedLoop[], now: number): string {
  if (loops.length === 0) return "no loop breaker is tripped";
  return formatTable(
    [
      { header: "breaker" },
      { header: "agents" },
      { header: "budget", align: "right" },
      { header: "tripped", align: "right" },
      { header: "resets in", align: "right" },
      { header: "thread" },
    ],
    loops.map((loop) => [
      truncate(loop.breaker, 48),
      truncate(loop.agents.join(", "), 40),
      `${loop.messages}/${loop.window_seconds}s`,
      `${formatDuration(now - Date.parse(loop.tripped_at))} ago`,
      formatDuration(Date.parse(loop.resets_at) - now),
      loop.thread_id,
    ]),
  );
}

async function clearLoop(
  thread: string | undefined,
  options: { pair?: string; json?: boolean },
  command: Command,
): Promise<void> {
  const parsed = ToolInputs.clear_loop.safeParse({
    thread_id: thread,
    pair: options.pair === undefined ? undefined : splitList(options.pair),
  });
  if (!parsed.success) {
    const path = parsed.error.issues[0]?.path[0];
    throw usageError(
      describeIssues(parsed.error, 5, (field) => OPTION_OF_FIELD[field.split(/[.[]/)[0]!] ?? field),
      typeof path === "string" ? OPTION_OF_FIELD[path] : undefined,
    );
  }
  const cleared = await withRuntime(globalOptions(command), async (runtime) => {
    await noteUnusedPrefix(runtime);
    return new TrippedLoops(runtime.redis, runtime.keys).clear(parsed.data);
  });
  if (options.json === true) {
    process.stdout.write(`${JSON.stringify({ cleared })}\n`);
    return;
  }
  process.stdout.write(
    cleared.length === 0
      ? "no loop breaker was tripped there; nothing to lift\n"
      : `lifted ${plural(cleared.length, "loop breaker")}: ${cleared.join(", ")}\n`,
  );
}
