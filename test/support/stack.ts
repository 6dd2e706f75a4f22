import { spawn, type ChildProcess } from "node:child_process";
import { accessSync, constants, readdirSync, readFileSync } from "node:fs";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { createServer, type AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { delimiter, join } from "node:path";
import { parse as parseYaml, stringify as stringifyYaml } from "yaml";
import { ROOT } from "./cli.js";

/**
 * The files of docker/ and grafana/, read as their tools read them, and the real programs
 * that check them: Prometheus, promtool and redis_exporter (Debian's packages; .ci/run
 * installs them).
 */

/** A YAML file of the repository; merge keys (`<<: *anchor`) resolved, as Compose does. */
export function readYaml<T>(path: string): T {
  return parseYaml(readFileSync(join(ROOT, path), "utf8"), { merge: true }) as T;
}

export function readJson<T>(path: string): T {
  return JSON.parse(readFileSync(join(ROOT, path), "utf8")) as T;
}

/** The absolute path of a program on PATH, or undefined. */
export function which(program: string): string | undefined {
  for (const dir of (process.env.PATH ?? "").split(delimiter)) {
    const path = join(dir, program);
    try {
      accessSync(path, constants.X_OK);
      return path;
    } catch {
      // not here
    }
  }
  return undefined;
}

// --- dashboards and alert rules ----------------------------------------------------------

export interface DatasourceRef {
  type?: string;
  uid?: string;
}
export interface Target {
  refId: string;
  datasource?: DatasourceRef;
  expr?: string;
  exemplar?: boolean;
  [field: string]: unknown;
}
export interface Panel {
  id: number;
  type: string;
  title: string;
  datasource?: DatasourceRef;
  gridPos: { h: number; w: number; x: number; y: number };
  targets?: Target[];
  panels?: Panel[];
}
/** A dashboard variable (`templating.list`): a datasource, or a query of label values. */
export interface Variable {
  type: string;
  name: string;
  /** The datasource type (type datasource), or the query (type query). */
  query?: string | { query: string };
  definition?: string;
  datasource?: DatasourceRef;
  multi?: boolean;
  includeAll?: boolean;
}
export interface Dashboard {
  uid: string;
  title: string;
  panels: Panel[];
  templating: { list: Variable[] };
  links?: { url?: string }[];
}

export const DASHBOARD_DIR = "grafana/dashboards";
export const RULES_FILE = "grafana/alerts/switchboard.rules.yaml";
export const RULES_TEST_FILE = "grafana/alerts/switchboard.rules.test.yaml";

export function dashboards(): { file: string; dashboard: Dashboard }[] {
  return readdirSync(join(ROOT, DASHBOARD_DIR))
    .filter((name) => name.endsWith(".json"))
    .map((name) => ({
      file: `${DASHBOARD_DIR}/${name}`,
      dashboard: readJson<Dashboard>(`${DASHBOARD_DIR}/${name}`),
    }));
}

/** Every panel of a dashboard, rows' nested panels included. */
export function panelsOf(dashboard: Dashboard): Panel[] {
  return dashboard.panels.flatMap((panel) => [panel, ...(panel.panels ?? [])]);
}

export interface Rule {
  alert?: string;
  record?: string;
  expr: string;
  for?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}
export interface RuleFile {
  groups: { name: string; rules: Rule[] }[];
}

export function rules(): Rule[] {
  return readYaml<RuleFile>(RULES_FILE).groups.flatMap((group) => group.rules);
}

/** A PromQL expression and where it is used, e.g. `Switchboard — pipeline / Pending`. */
export interface Query {
  where: string;
  expr: string;
}

/** The PromQL of every panel of a dashboard on a Prometheus datasource. */
export function dashboardQueries(dashboard: Dashboard): Query[] {
  return panelsOf(dashboard).flatMap((panel) =>
    (panel.targets ?? [])
      .filter((t) => (t.datasource ?? panel.datasource)?.type === "prometheus")
      .map((t) => ({ where: `${dashboard.title} / ${panel.title}`, expr: t.expr ?? "" })),
  );
}

/** The PromQL of every dashboard panel on a Prometheus datasource and of every rule. */
export function promQueries(): Query[] {
  const fromDashboards = dashboards().flatMap(({ dashboard }) => dashboardQueries(dashboard));
  const fromRules = rules().map((rule) => ({
    where: `${RULES_FILE} / ${rule.alert ?? rule.record}`,
    expr: rule.expr,
  }));
  return [...fromDashboards, ...fromRules];
}

/** The label-values query of a query variable, e.g. `label_values(up{job=~"$job"}, instance)`. */
export function variableQuery(variable: Variable): string {
  const { query } = variable;
  return typeof query === "string" ? query : (query?.query ?? variable.definition ?? "");
}

/**
 * A panel's PromQL as Prometheus takes it: Grafana's interval variables replaced by
 * `rateInterval`, and dashboard variables (`$job`, `${job}`) by their values in
 * `variables` (a regex, as Grafana writes a multi-value variable: `(a|b)`), `.*` for any
 * not given.
 */
export function toPromQL(
  expr: string,
  rateInterval = "1m",
  variables: Readonly<Record<string, string>> = {},
): string {
  return expr
    .replace(/\$(__rate_interval|__interval|__range)\b/g, rateInterval)
    .replace(/\$\{(\w+)\}|\$(\w+)\b/g, (_, braced?: string, bare?: string) => {
      return variables[(braced ?? bare)!] ?? ".*";
    });
}

const KEYWORDS = new Set([
  "and",
  "or",
  "unless",
  "by",
  "without",
  "on",
  "ignoring",
  "group_left",
  "group_right",
  "bool",
  "offset",
  "atan2",
  "inf",
  "nan",
]);

/**
 * The metric names a PromQL expression selects, e.g. `switchboard_group_lag` in
 * `max by (stage) (switchboard_group_lag{stage="route"}) > 0`: identifiers that are not
 * functions, keywords, label names (in braces or grouping clauses), durations or numbers.
 */
export function metricNames(expr: string): string[] {
  const bare = expr
    .replace(/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|`[^`]*`/g, '""')
    .replace(/\{[^}]*\}/g, " ")
    .replace(/\[[^\]]*\]/g, " ")
    .replace(/\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, " ")
    .replace(/\$\{?\w+\}?/g, " ");
  const names = new Set<string>();
  for (const match of bare.matchAll(/[A-Za-z_:][A-Za-z0-9_:]*/g)) {
    const name = match[0];
    const before = bare[match.index - 1] ?? " ";
    const after = bare.slice(match.index + name.length).trimStart();
    if (/[0-9.]/.test(before) || after.startsWith("(") || KEYWORDS.has(name.toLowerCase())) {
      continue;
    }
    names.add(name);
  }
  return [...names];
}

/** One vector selector of a PromQL expression: `name{label=~"value", …}`. */
export interface Selector {
  name: string;
  /** Each matcher as written, e.g. `job=~"$job"`. */
  matchers: string[];
}

/** The vector selectors of the metrics an expression selects (see {@link metricNames}). */
export function selectorsOf(expr: string): Selector[] {
  const metrics = new Set(metricNames(expr));
  const found: Selector[] = [];
  for (const match of expr.matchAll(/([A-Za-z_:][\w:]*)\s*(\{(?:[^}"]|"(?:[^"\\]|\\.)*")*\})?/g)) {
    const [, name = "", braces = ""] = match;
    if (!metrics.has(name)) continue;
    const matchers = [...braces.matchAll(/(\w+)\s*(=~|!~|!=|=)\s*"((?:[^"\\]|\\.)*)"/g)].map(
      ([, label, op, value]) => `${label}${op}"${value}"`,
    );
    found.push({ name, matchers });
  }
  return found;
}

/**
 * The names a query may select from a scrape in either exposition format: every sample's
 * name, and for each declared family the series it stands for (a histogram's `_bucket`,
 * `_sum` and `_count`, never its bare name; a counter's `_total`, which OpenMetrics leaves
 * out of the family name). A family declared with no samples yet still counts.
 */
export function exposedNames(exposition: string): Set<string> {
  const names = new Set<string>();
  for (const line of exposition.split("\n")) {
    const type = /^# TYPE (\S+) (\S+)/.exec(line);
    if (type !== null) {
      const [, family = "", kind] = type;
      if (kind === "histogram" || kind === "gaugehistogram") {
        for (const suffix of ["_bucket", "_sum", "_count"]) names.add(family + suffix);
      } else if (kind === "summary") {
        for (const suffix of ["", "_sum", "_count"]) names.add(family + suffix);
      } else if (kind === "counter") {
        names.add(family.endsWith("_total") ? family : `${family}_total`);
      } else {
        names.add(family);
      }
    } else if (line !== "" && !line.startsWith("#")) {
      names.add(/^[^{\s]+/.exec(line)![0]);
    }
  }
  return names;
}

// --- programs ---------------------------------------------------------------------------

/** A TCP port nobody listens on right now, on 127.0.0.1. */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

export interface Program {
  /** e.g. `http://127.0.0.1:40123` */
  origin: string;
  child: ChildProcess;
  output(): string;
  stop(): Promise<void>;
}

/**
 * Spawns a program that serves HTTP on `port` and waits until `readyPath` answers 200;
 * fails at once, with its output, if it exits first.
 */
export async function startProgram(
  command: string,
  args: string[],
  port: number,
  readyPath: string,
  cleanup: () => Promise<void> = () => Promise.resolve(),
  timeoutMs = 20_000,
): Promise<Program> {
  const child = spawn(command, args, { stdio: ["ignore", "pipe", "pipe"] });
  let output = "";
  child.stdout.on("data", (chunk: Buffer) => (output += chunk.toString("utf8")));
  child.stderr.on("data", (chunk: Buffer) => (output += chunk.toString("utf8")));
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  const origin = `http://127.0.0.1:${port}`;
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGTERM");
    await exited;
    await cleanup();
  };
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null) {
      await cleanup();
      throw new Error(`${command} exited (${child.exitCode ?? child.signalCode}):\n${output}`);
    }
    const status = await fetch(origin + readyPath).then(
      (response) => response.status,
      () => 0,
    );
    if (status === 200) return { origin, child, output: () => output, stop };
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`${command} not ready on ${origin}${readyPath}:\n${output}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** Prometheus's `/api/v1/query` result vector. */
export interface Sample {
  metric: Record<string, string>;
  value: [number, string];
}

export interface Prometheus extends Program {
  query(expr: string): Promise<Sample[]>;
  get<T>(path: string): Promise<T>;
}

/**
 * A real Prometheus on a free port, with `config` as its configuration and a temporary
 * storage directory (both removed on stop), exemplar storage on as in docker/compose.yaml.
 */
export async function startPrometheus(binary: string, config: object): Promise<Prometheus> {
  const dir = await mkdtemp(join(tmpdir(), "switchboard-prometheus-"));
  const configFile = join(dir, "prometheus.yml");
  await writeFile(configFile, stringifyYaml(config));
  const port = await freePort();
  const program = await startProgram(
    binary,
    [
      `--config.file=${configFile}`,
      `--storage.tsdb.path=${join(dir, "data")}`,
      `--web.listen-address=127.0.0.1:${port}`,
      "--enable-feature=exemplar-storage",
      "--log.level=warn",
    ],
    port,
    "/-/ready",
    () => rm(dir, { recursive: true, force: true }),
  );
  const get = async <T>(path: string): Promise<T> => {
    const response = await fetch(program.origin + path);
    const body = (await response.json()) as { status: string; data: T; error?: string };
    if (body.status !== "success") throw new Error(`${path}: ${body.error ?? response.status}`);
    return body.data;
  };
  return {
    ...program,
    get,
    query: async (expr) =>
      (await get<{ result: Sample[] }>(`/api/v1/query?query=${encodeURIComponent(expr)}`)).result,
  };
}
