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
