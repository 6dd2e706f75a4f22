import { spawn } from "node:child_process";
import { ROOT } from "./cli.js";
import { which } from "./stack.js";

/**
 * Prometheus's promtool (Debian's package `prometheus`; .ci/run installs it): the checks of
 * the alert rules, the Prometheus config and the `/metrics` expositions.
 */

/** The promtool on PATH, or undefined. */
export const PROMTOOL = which("promtool");

/**
 * Whether tests of promtool are skipped: only where it is missing and CI is not set. In CI
 * they run, and fail on a missing promtool with {@link requirePromtool}'s message.
 */
export const SKIP_PROMTOOL = PROMTOOL === undefined && !process.env.CI;

export const SKIP_PROMTOOL_REASON =
  "skipped when promtool is not on PATH outside CI: .ci/run installs Debian's prometheus package";

/** The path of promtool; throws, saying how to get it, when it is missing. */
export function requirePromtool(): string {
  if (PROMTOOL !== undefined) return PROMTOOL;
  throw new Error(
    "promtool is not on PATH (CI is set, so the promtool checks must run): install Debian's " +
      "prometheus package (apt-get install prometheus), as .ci/run does",
  );
}

export interface PromtoolRun {
  code: number;
  /** stdout and stderr, in that order. */
  output: string;
}

/** Runs `promtool ARGS` in the repository, with `input` on its stdin. */
export function runPromtool(args: string[], input = ""): Promise<PromtoolRun> {
  const child = spawn(requirePromtool(), args, { cwd: ROOT, stdio: ["pipe", "pipe", "pipe"] });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString("utf8")));
  child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString("utf8")));
  child.stdin.end(input);
  return new Promise((resolve, reject) => {
    child.once("error", reject);
    child.once("close", (code) => resolve({ code: code ?? -1, output: stdout + stderr }));
  });
}

/** Metrics of prom-client's defaults that are gauges named `_total` (not our names to choose). */
const PROM_CLIENT_TOTAL_GAUGES = /^nodejs_active_(handles|requests|resources)_total$/;

/**
 * What `promtool check metrics` found in an exposition that is not accepted, one line each
 * (a parse error is never accepted). Accepted:
 *
 * - prom-client's default gauges `nodejs_active_*_total` ("non-counter metrics should not
 *   have "_total" suffix"): the library names them, and dashboards know them so;
 * - in OpenMetrics only, "no help text" on `NAME_total` where `NAME` is a declared counter:
 *   promtool (2.x) parses only the classic text format, in which OpenMetrics' counter
 *   samples (`NAME_total` of the family `NAME`) look like a family of their own.
 *
 * promtool does not parse exemplars (`… # {trace_id="…"} …`) either; the expositions
 * checked come from processes that do not trace, which write none.
 */
export async function metricsLint(exposition: string): Promise<string[]> {
  const { code, output } = await runPromtool(["check", "metrics"], exposition);
  const counters = new Set(
    [...exposition.matchAll(/^# TYPE (\S+) counter$/gm)].map(([, family]) => family),
  );
  const openMetrics = exposition.endsWith("# EOF\n");
  const problems = output
    .split("\n")
    .filter((line) => line.trim() !== "")
    .filter((line) => {
      const [metric = "", ...words] = line.split(" ");
      const problem = words.join(" ");
      if (PROM_CLIENT_TOTAL_GAUGES.test(metric)) {
        return problem !== 'non-counter metrics should not have "_total" suffix';
      }
      const counterSample = metric.endsWith("_total") && counters.has(metric.slice(0, -6));
      return !(openMetrics && problem === "no help text" && counterSample);
    });
  if (code !== 0 && code !== 3) return [`promtool exited with ${code}`, ...problems];
  return problems;
}
