import { spawn, type ChildProcess } from "node:child_process";
import { readFileSync } from "node:fs";
import { createServer } from "node:net";
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

/** Says why a benchmark failed (with the stack, to find where); returns its exit code, 1. */
export function failed(error: unknown): number {
  progress(`failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
  return 1;
}

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

/** Waits for a quiet machine before a measurement (`quietS` 0: not at all); says so if it is not. */
export async function quietBeforeMeasuring(quietS: number): Promise<void> {
  if (quietS <= 0) return;
  const busy = await waitForQuiet(quietS * 1000);
  if (busy >= 25)
    progress(`the machine is still busy (${Math.round(busy)}% of a core); measuring anyway`);
}

/**
 * On SIGINT or SIGTERM: says what it does, runs `abort` (bounded to 15 s) and exits 130;
 * a second signal exits at once.
 */
export function stopOnSignals(what: string, abort: () => Promise<void>): void {
  let interrupted = false;
  for (const signal of ["SIGINT", "SIGTERM"] as const) {
    process.on(signal, () => {
      if (interrupted) process.exit(130);
      interrupted = true;
      progress(`${signal}: ${what}`);
      const bounded = new Promise((resolve) => setTimeout(resolve, 15_000).unref());
      void Promise.race([abort(), bounded])
        .catch(() => undefined)
        .finally(() => process.exit(130));
    });
  }
}

/** A loopback port nobody listens on right now (the kernel picks it; a child binds it just after). */
export async function freePort(host = "127.0.0.1"): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, host, resolve);
  });
  const address = server.address();
  await new Promise((resolve) => server.close(resolve));
  if (address === null || typeof address === "string") throw new Error("no free port");
  return address.port;
}

/** Until a GET of `url` answers 2xx (the child listens); fails if the child exits or on timeout. */
export async function waitAnswering(proc: Proc, url: URL, timeoutMs: number): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    assertAlive([proc]);
    try {
      const response = await fetch(url);
      await response.body?.cancel();
      if (response.ok) return;
    } catch {
      // not listening yet
    }
    if (performance.now() > deadline) {
      throw new Error(`${proc.name} did not answer ${url.href} within ${timeoutMs / 1000} s`);
    }
    await delay(50);
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
