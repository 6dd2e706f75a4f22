import { spawn, type ChildProcess } from "node:child_process";
import { readFileSync } from "node:fs";
import { setTimeout as delay } from "node:timers/promises";
import { fileURLToPath } from "node:url";

/** The package root: children run from there (so `--import tsx` resolves). */
export const ROOT = fileURLToPath(new URL("..", import.meta.url));

/** A child process of the benchmark (a worker), with its resource figures. */
export interface Proc {
  name: string;
  pid: number;
  child: ChildProcess;
  /** Resolves with the exit code (null when killed by a signal). */
  exited: Promise<number | null>;
  /** Largest resident set seen so far, in KiB. */
  maxRssKiB: number;
  /** The last few KiB of its stderr, for error messages. */
  tail(): string;
}

/** A progress line on stderr (stdout carries only the results). */
export const progress = (line: string) => void process.stderr.write(`bench: ${line}\n`);

const live = new Set<Proc>();
const CLOCK_TICKS_PER_S = 100;
const RSS_SAMPLE_MS = 200;

/** Starts a child; its stderr lines are echoed to ours prefixed with its name. */
export function spawnProc(name: string, args: string[], env: NodeJS.ProcessEnv): Proc {
  const child = spawn(process.execPath, args, {
    cwd: ROOT,
    env,
    stdio: ["ignore", "ignore", "pipe"],
  });
  if (child.pid === undefined) throw new Error(`could not start ${name}: ${args.join(" ")}`);
  let tail = "";
  let partial = "";
  child.stderr?.on("data", (chunk: Buffer) => {
    const text = chunk.toString("utf8");
    tail = (tail + text).slice(-4000);
    const lines = (partial + text).split("\n");
    partial = lines.pop() ?? "";
    for (const line of lines) if (line !== "") process.stderr.write(`  [${name}] ${line}\n`);
  });
  const proc: Proc = {
    name,
    pid: child.pid,
    child,
    exited: new Promise((resolve) => child.once("exit", (code) => resolve(code))),
    maxRssKiB: 0,
    tail: () => tail.trimEnd(),
  };
  live.add(proc);
  const sampler = setInterval(() => {
    proc.maxRssKiB = Math.max(proc.maxRssKiB, rssKiB(proc.pid));
  }, RSS_SAMPLE_MS);
  void proc.exited.then(() => {
    clearInterval(sampler);
    live.delete(proc);
  });
  return proc;
}

/** Resident set size of a process, KiB (0 once it is gone). */
export function rssKiB(pid: number): number {
  try {
    const match = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
    return match ? Number(match[1]) : 0;
  } catch {
    return 0;
  }
}

/** CPU time (user + system) a process has used so far, ms. */
export function cpuMs(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    // fields[0] is field 3 (state); utime and stime are fields 14 and 15.
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / CLOCK_TICKS_PER_S;
  } catch {
    return 0;
  }
}

/** CPU time the whole machine has been busy (all cores, `/proc/stat`), ms. */
export function machineBusyMs(): number {
  try {
    const line = readFileSync("/proc/stat", "utf8").split("\n", 1)[0] ?? "";
    const [user, nice, system, , , irq, softirq, steal] = line.split(/\s+/).slice(1).map(Number);
    const busy = [user, nice, system, irq, softirq, steal].reduce<number>(
      (a, b) => a + (b ?? 0),
      0,
    );
    return (busy * 1000) / CLOCK_TICKS_PER_S;
  } catch {
    return NaN;
  }
}

/**
 * Waits (up to `maxWaitMs`) until the rest of the machine uses less than `thresholdPct` of
 * a core over a second, so other people's builds do not land in a measurement. Returns the
 * last reading, % of a core.
 */
export async function waitForQuiet(maxWaitMs: number, thresholdPct = 25): Promise<number> {
  const start = performance.now();
  for (;;) {
    const busy = machineBusyMs();
    const self = process.cpuUsage();
    await delay(1000);
    const own = process.cpuUsage(self);
    const pct = (machineBusyMs() - busy - (own.user + own.system) / 1000) / 10;
    if (pct < thresholdPct || performance.now() - start >= maxWaitMs) return pct;
  }
}

/** Throws when a child has exited: a worker must not die during a measurement. */
export function assertAlive(procs: readonly Proc[]): void {
  for (const proc of procs) {
    const { exitCode, signalCode } = proc.child;
    if (exitCode !== null || signalCode !== null) {
      throw new Error(
        `${proc.name} (pid ${proc.pid}) exited early (${signalCode ?? `code ${exitCode}`}):\n${proc.tail()}`,
      );
    }
  }
}

/** SIGTERM, then SIGKILL after `timeoutMs`; returns the exit code (null if killed). */
export async function stopProc(proc: Proc, timeoutMs = 15_000): Promise<number | null> {
  const { exitCode, signalCode } = proc.child;
  if (exitCode !== null || signalCode !== null) return exitCode;
  proc.child.kill("SIGTERM");
  const abort = new AbortController();
  const timedOut = delay(timeoutMs, "timeout" as const, { signal: abort.signal }).catch(
    () => "aborted" as const,
  );
  const outcome = await Promise.race([proc.exited, timedOut]);
  abort.abort();
  if (outcome === "timeout") {
    process.stderr.write(`bench: ${proc.name} ignored SIGTERM for ${timeoutMs} ms; killing it\n`);
    proc.child.kill("SIGKILL");
    await proc.exited;
    return null;
  }
  return outcome === "aborted" ? null : outcome;
}

/** Stops every child still running (used on errors and on SIGINT). */
export async function stopAll(timeoutMs = 5000): Promise<void> {
  await Promise.all([...live].map((proc) => stopProc(proc, timeoutMs)));
}

/** Last resort at exit: nothing the benchmark started outlives it. */
export function killAllNow(): void {
  for (const proc of live) proc.child.kill("SIGKILL");
}
