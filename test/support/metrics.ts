import { expect } from "vitest";
import { startListening, type ListeningProcess } from "./cli.js";

/** Scrapes of `/metrics`, `/readyz` and `/healthz` of real processes, read back into numbers. */

export interface Scrape {
  status: number;
  contentType: string;
  text: string;
  /** Every sample: `name{label="value",…}` (labels sorted) → value. */
  samples: Map<string, number>;
}

/** The key of one sample in {@link Scrape.samples}. */
export function sampleKey(name: string, labels: Record<string, string> = {}): string {
  const pairs = Object.entries(labels)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([k, v]) => `${k}="${v}"`);
  return pairs.length === 0 ? name : `${name}{${pairs.join(",")}}`;
}

/** Reads the text formats (Prometheus 0.0.4 and OpenMetrics) into samples; exemplars are skipped. */
export function parseSamples(text: string): Map<string, number> {
  const samples = new Map<string, number>();
  for (const line of text.split("\n")) {
    const match = /^([a-zA-Z_:][\w:]*)(?:\{([^}]*)\})?\s+(\S+)/.exec(line);
    if (match === null) continue;
    const labels: Record<string, string> = {};
    for (const [, key, value] of (match[2] ?? "").matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) {
      labels[key!] = value!;
    }
    samples.set(sampleKey(match[1]!, labels), Number(match[3]));
  }
  return samples;
}

/** The samples a family of each type may have (`""`: a 0.0.4 counter is named with `_total`). */
const SUFFIXES: Record<string, string[]> = {
  counter: ["", "_total", "_created"],
  histogram: ["_bucket", "_sum", "_count", "_created"],
  gaugehistogram: ["_bucket", "_gsum", "_gcount"],
  summary: ["", "_sum", "_count", "_created"],
  info: ["_info"],
};

/**
 * What is wrong with the families of an exposition, in either format, one line each: two
 * declarations (`# TYPE`) of one family, where a counter's family is its name without
 * `_total` as in OpenMetrics (so a gauge `x` beside a counter `x_total` is a clash in the
 * classic format too), or a sample that no declared family owns.
 */
export function familyProblems(text: string): string[] {
  const problems: string[] = [];
  const families = new Map<string, string[]>();
  const owned = new Set<string>();
  for (const [, family = "", type = ""] of text.matchAll(/^# TYPE (\S+) (\S+)$/gm)) {
    const name = type === "counter" ? family.replace(/_total$/, "") : family;
    families.set(name, [...(families.get(name) ?? []), `${family} (${type})`]);
    for (const suffix of SUFFIXES[type] ?? [""]) owned.add(family + suffix);
  }
  for (const [family, declared] of families) {
    if (declared.length > 1) problems.push(`family ${family}: ${declared.join(", ")}`);
  }
  for (const [, name = ""] of text.matchAll(/^([a-zA-Z_:][\w:]*)[{ ]/gm)) {
    if (!owned.has(name)) problems.push(`${name}: a sample of no declared family`);
  }
  return [...new Set(problems)];
}

/** GETs a probe path of a process; `base` is any URL of its server. */
export async function probe(base: URL | string, path: string, accept?: string): Promise<Scrape> {
  const response = await fetch(new URL(path, base), {
    headers: accept === undefined ? {} : { accept },
  });
  const text = await response.text();
  return {
    status: response.status,
    contentType: response.headers.get("content-type") ?? "",
    text,
    samples: parseSamples(text),
  };
}

export const scrape = (base: URL | string, accept?: string) => probe(base, "/metrics", accept);

/** A sample's value; fails the test when the series is missing. */
export function valueOf(
  scraped: Scrape,
  name: string,
  labels: Record<string, string> = {},
): number {
  const key = sampleKey(name, labels);
  const value = scraped.samples.get(key);
  expect(value, `series ${key} in /metrics`).toBeDefined();
  return value!;
}

/** Whether any sample of a metric is there (with any labels). */
export function hasSeries(scraped: Scrape, name: string): boolean {
  return [...scraped.samples.keys()].some((key) => key === name || key.startsWith(`${name}{`));
}

/** Starts `switchboard worker --metrics-port 0 ARGS` and waits until its probes listen. */
export function startWorker(
  env: NodeJS.ProcessEnv,
  args: string[] = [],
): Promise<ListeningProcess> {
  return startListening(["worker", "--metrics-port", "0", ...args], env, "metrics listening");
}
