import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { join, posix, relative, resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { parseClusterNodes } from "../../src/config/cluster-nodes.js";
import { loadPipeline, STAGE_NAMES } from "../../src/config/pipeline.js";
import { Keys } from "../../src/redis/keys.js";
import { ROOT } from "../support/cli.js";
import {
  dashboardQueries,
  dashboards,
  metricNames,
  panelsOf,
  promQueries,
  readYaml,
  rules,
  RULES_TEST_FILE,
  selectorsOf,
  variableQuery,
  type DatasourceRef,
} from "../support/stack.js";

/**
 * docker/ and grafana/ are not started in CI (no Docker engine runs there), so this file
 * keeps them honest: the files parse, every bind mount exists in the repository, every
 * address names a Compose service and a port that service listens on, every config file is
 * mounted where its program reads it, and the dashboards use datasources that exist.
 */

interface Service {
  image?: string;
  profiles?: string[];
  restart?: string;
  build?: { context: string; dockerfile: string };
  command?: string[];
  entrypoint?: string[];
  environment?: Record<string, string>;
  volumes?: string[];
  expose?: string[];
  ports?: string[];
  depends_on?: string[] | Record<string, { condition: string }>;
  healthcheck?: { test: string[] };
}
interface Compose {
  services: Record<string, Service>;
  volumes?: Record<string, unknown>;
}
interface PrometheusConfig {
  global: { scrape_interval: string; evaluation_interval: string };
  rule_files: string[];
  scrape_configs: {
    job_name: string;
    static_configs?: { targets: string[] }[];
    dns_sd_configs?: { names: string[]; type: string; port: number }[];
  }[];
}
interface Datasource {
  name: string;
  uid: string;
  type: string;
  url: string;
  jsonData?: {
    timeInterval?: string;
    exemplarTraceIdDestinations?: { name: string; datasourceUid: string }[];
  };
}

const DOCKER = join(ROOT, "docker");
const compose = readYaml<Compose>("docker/compose.yaml");
const services = compose.services;
const service = (name: string): Service => {
  const found = services[name];
  if (found === undefined) throw new Error(`docker/compose.yaml has no service '${name}'`);
  return found;
};
const prometheus = readYaml<PrometheusConfig>("docker/prometheus.yml");
const datasources = readYaml<{ datasources: Datasource[] }>(
  "grafana/provisioning/datasources/datasources.yaml",
).datasources;

/** The ports a service declares it listens on (`expose`). */
function listens(name: string): number[] {
  return (service(name).expose ?? []).map(Number);
}

/** `http://tempo:3200/x`, `redis://redis:6379`, `tempo:4317` → host and port. */
function hostPort(address: string): { host: string; port: number } {
  const url = new URL(address.includes("://") ? address : `tcp://${address}`);
  const defaults: Record<string, number> = { "http:": 80, "https:": 443, "redis:": 6379 };
  return { host: url.hostname, port: url.port === "" ? defaults[url.protocol]! : Number(url.port) };
}

/** `where` reaches `address`: it names a service, on a port that service listens on. */
function expectReachable(address: string, where: string): void {
  const { host, port } = hostPort(address);
  expect(Object.keys(services), `${where}: ${address} names no service`).toContain(host);
  expect(listens(host), `${where}: ${host} does not listen on ${port}`).toContain(port);
}

/** Bind mounts of a service: repository path (absolute) → container path. */
function bindMounts(name: string): { source: string; target: string }[] {
  return (service(name).volumes ?? [])
    .map((volume) => volume.split(":"))
    .filter(([source]) => source!.startsWith("."))
    .map(([source, target]) => ({ source: resolve(DOCKER, source!), target: target! }));
}

/** Where a path inside a container comes from in the repository, through its bind mounts. */
function repoPath(name: string, containerPath: string): string | undefined {
  for (const { source, target } of bindMounts(name)) {
    if (containerPath === target) return source;
    if (containerPath.startsWith(`${target}/`)) {
      return join(source, posix.relative(target, containerPath));
    }
  }
  return undefined;
}

/** The value of `--flag=value` or `--flag value` in a command. */
function flag(command: string[] | undefined, name: string): string | undefined {
  const args = command ?? [];
  const joined = args.find((arg) => arg.startsWith(`${name}=`));
  if (joined !== undefined) return joined.slice(name.length + 1);
  const at = args.indexOf(name);
  return at === -1 ? undefined : args[at + 1];
}

/** A shell glob (`*`, `?`) as an anchored regular expression. */
function globToRegExp(glob: string): RegExp {
  const escaped = glob.replace(/[.+^${}()|[\]\\]/g, "\\$&");
  return new RegExp(`^${escaped.replace(/\*/g, ".*").replace(/\?/g, ".")}$`);
}

describe("docker/compose.yaml", () => {
  it("has every service of the stack", () => {
    expect(Object.keys(services)).toEqual(
      expect.arrayContaining([
        "redis",
        "frontend",
        "worker",
        "otel-collector",
        "tempo",
        "prometheus",
        "redis-exporter",
        "grafana",
      ]),
    );
  });

  it("pins every image it pulls to a version", () => {
    for (const [name, { image, build }] of Object.entries(services)) {
      if (build !== undefined) continue;
      expect(image, name).toMatch(/^[\w./-]+:[\w.-]*\d[\w.-]*$/);
      expect(image, name).not.toMatch(/:latest$/);
    }
  });

  it("builds Switchboard from the repository with docker/Dockerfile", () => {
    for (const name of ["frontend", "worker"]) {
      const { build } = service(name);
      expect(build, name).toBeDefined();
      expect(resolve(DOCKER, build!.context)).toBe(resolve(ROOT));
      expect(existsSync(join(ROOT, build!.dockerfile)), build!.dockerfile).toBe(true);
    }
  });

  it("runs the front end alone, reachable from the other containers, and workers with a metrics port", () => {
    const frontend = service("frontend").command!;
    expect(frontend.slice(0, 2)).toEqual(["serve", "--no-workers"]);
    expect(flag(frontend, "--host")).toBe("0.0.0.0");
    expect(listens("frontend")).toContain(Number(flag(frontend, "--port")));

    const worker = service("worker").command!;
    expect(worker[0]).toBe("worker");
    const metricsPort = Number(flag(worker, "--metrics-port"));
    expect(flag(worker, "--metrics-host")).toBe("0.0.0.0");
    expect(listens("worker")).toContain(metricsPort);
    // Scaled workers must not claim a host port or a fixed container name.
    expect(service("worker").ports).toBeUndefined();
    expect(service("worker")).not.toHaveProperty("container_name");
    // The image's healthcheck asks the serve port; a worker's asks its metrics port.
    expect(service("worker").healthcheck!.test).toContain(
      `http://127.0.0.1:${metricsPort}/healthz`,
    );
  });

  it("keeps Redis's data in AOF on a volume and never evicts keys", () => {
    const command = service("redis").command!;
    expect(flag(command, "--appendonly")).toBe("yes");
    expect(flag(command, "--maxmemory-policy")).toBe("noeviction");
    expect(flag(command, "--maxmemory")).toBeDefined();
    expect(service("redis").volumes).toContain("redis-data:/data");
  });

  it("mounts only files and folders that exist, and declares every named volume", () => {
    for (const name of Object.keys(services)) {
      for (const { source } of bindMounts(name)) {
        expect(existsSync(source), `${name}: ${relative(ROOT, source)}`).toBe(true);
      }
      for (const volume of service(name).volumes ?? []) {
        const [source] = volume.split(":");
        if (!source!.startsWith(".") && !source!.startsWith("/")) {
          expect(Object.keys(compose.volumes ?? {}), `${name}: volume ${source}`).toContain(source);
        }
      }
    }
  });

  it("depends only on services that exist, and publishes only ports the service listens on, on 127.0.0.1", () => {
    for (const [name, { depends_on, ports }] of Object.entries(services)) {
      const dependencies = Array.isArray(depends_on) ? depends_on : Object.keys(depends_on ?? {});
      for (const dependency of dependencies)
        expect(Object.keys(services), name).toContain(dependency);
      for (const published of ports ?? []) {
        const [host, , container] = published.split(":");
        expect(host, `${name}: ${published}`).toBe("127.0.0.1");
        expect(listens(name), `${name}: ${published}`).toContain(Number(container));
      }
    }
  });

  it("points Switchboard and redis_exporter at Redis, and Switchboard's traces at the collector", () => {
    for (const name of ["frontend", "worker"]) {
      const env = service(name).environment!;
      expectReachable(env.REDIS_URL!, `${name} REDIS_URL`);
      expectReachable(env.OTEL_EXPORTER_OTLP_ENDPOINT!, `${name} OTEL_EXPORTER_OTLP_ENDPOINT`);
      expect(env.OTEL_SERVICE_NAME, name).toMatch(/^switchboard-/);
    }
    expectReachable(
      service("redis-exporter").environment!.REDIS_ADDR!,
      "redis-exporter REDIS_ADDR",
    );
  });

  it("has redis_exporter watch the stage and dead-letter streams of Switchboard's prefix, not the inboxes", () => {
    const prefix = service("frontend").environment!.SWITCHBOARD_PREFIX!;
    expect(service("worker").environment!.SWITCHBOARD_PREFIX).toBe(prefix);
    const patterns = service("redis-exporter")
      .environment!.REDIS_EXPORTER_CHECK_STREAMS!.split(",")
      .map((p) => globToRegExp(p.replace(/^db\d+=/, "")));
    const watched = (key: string) => patterns.some((pattern) => pattern.test(key));
    const pipeline = loadPipeline();
    const keys = new Keys(prefix);
    for (const stage of STAGE_NAMES) {
      expect(watched(keys.stream(pipeline.stages[stage].stream)), stage).toBe(true);
    }
    expect(watched(keys.stream(pipeline.deadLetters.stream))).toBe(true);
    expect(watched(keys.inbox("bob"))).toBe(false);
  });
});

describe("docker/compose.yaml, profile cluster", () => {
  const inProfile = Object.entries(services).filter(([, s]) => s.profiles?.includes("cluster"));
  const nodes = inProfile.filter(([, s]) => s.command?.[0] === "redis-server").map(([n]) => n);
  const create = service("redis-cluster-create");
  const switchboards = inProfile.filter(([, s]) => s.image === "switchboard:local");

  it("has six cluster-enabled Redis nodes, with AOF and noeviction, listening on 6379 and the bus port", () => {
    expect(nodes).toHaveLength(6);
    for (const name of nodes) {
      const { command } = service(name);
      expect(flag(command, "--cluster-enabled"), name).toBe("yes");
      expect(flag(command, "--appendonly"), name).toBe("yes");
      expect(flag(command, "--maxmemory-policy"), name).toBe("noeviction");
      expect(listens(name), name).toEqual(expect.arrayContaining([6379, 16379]));
    }
  });

  it("creates the cluster once every node is healthy: all six, a replica per master", () => {
    expect(create.profiles).toEqual(["cluster"]);
    expect(create.restart).toBe("no");
    const listed = create.environment!.CLUSTER_NODES!.split(" ");
    expect(listed.map((node) => hostPort(node).host).sort()).toEqual([...nodes].sort());
    for (const node of listed) expectReachable(node, "redis-cluster-create CLUSTER_NODES");
    const script = create.entrypoint!.join(" ");
    expect(script).toMatch(
      /redis-cli --cluster create \$\$addresses --cluster-replicas 1 --cluster-yes/,
    );
    expect(create.depends_on).toEqual(
      Object.fromEntries(nodes.map((name) => [name, { condition: "service_healthy" }])),
    );
  });

  it("runs a front end and workers on the cluster's nodes, after it is created, with a pipeline of 3 partitions", () => {
    expect(switchboards.map(([name]) => name).sort()).toEqual([
      "frontend-cluster",
      "worker-cluster",
    ]);
    for (const [name, { environment, depends_on }] of switchboards) {
      const env = environment!;
      expect(
        env.REDIS_URL,
        `${name}: REDIS_URL and REDIS_CLUSTER_NODES exclude each other`,
      ).toBeUndefined();
      for (const { host, port } of parseClusterNodes(env.REDIS_CLUSTER_NODES!).nodes) {
        expect(nodes, `${name} REDIS_CLUSTER_NODES`).toContain(host);
        expectReachable(`${host}:${port}`, `${name} REDIS_CLUSTER_NODES`);
      }
      expect(depends_on).toEqual({
        "redis-cluster-create": { condition: "service_completed_successfully" },
      });
      // The image holds pipelines/ at /app/pipelines (docker/Dockerfile).
      const file = env.SWITCHBOARD_PIPELINE!.replace(/^\/app\//, "");
      expect(env.SWITCHBOARD_PIPELINE, name).toMatch(/^\/app\/pipelines\/[\w-]+\.yaml$/);
      expect(loadPipeline(join(ROOT, file)).partitions, name).toBe(3);
      expect(env.OTEL_SERVICE_NAME, name).toMatch(/^switchboard-cluster-/);
    }
    expect(flag(service("worker-cluster").command, "--metrics-port")).toBe(
      flag(service("worker").command, "--metrics-port"),
    );
  });

  it("is scraped by Prometheus by DNS, so that no target is down while the profile is off", () => {
    const jobs = new Map(prometheus.scrape_configs.map((job) => [job.job_name, job]));
    expect(jobs.get("switchboard-cluster-frontend")?.dns_sd_configs?.[0]).toMatchObject({
      names: ["frontend-cluster"],
      port: Number(flag(service("frontend-cluster").command, "--port")),
    });
    expect(jobs.get("switchboard-cluster-worker")?.dns_sd_configs?.[0]).toMatchObject({
      names: ["worker-cluster"],
      port: Number(flag(service("worker-cluster").command, "--metrics-port")),
    });
  });

  it("publishes no host port twice, so both deployments run side by side", () => {
    const published = Object.values(services).flatMap(({ ports }) =>
      (ports ?? []).map((p) => p.split(":").slice(0, 2).join(":")),
    );
    expect(new Set(published).size).toBe(published.length);
  });
});

describe("configs mounted into the stack", () => {
  it("mounts each program's config file where its command line reads it", () => {
    const configs: [string, string | undefined][] = [
      ["prometheus", flag(service("prometheus").command, "--config.file")],
      ["tempo", flag(service("tempo").command, "-config.file")],
      ["otel-collector", flag(service("otel-collector").command, "--config")],
    ];
    for (const [name, path] of configs) {
      expect(path, `${name} names no config file`).toBeDefined();
      const source = repoPath(name, path!);
      expect(source, `${name}: nothing is mounted at ${path}`).toBeDefined();
      expect(statSync(source!).isFile(), `${name}: ${source}`).toBe(true);
    }
    expect(repoPath("prometheus", "/etc/prometheus/prometheus.yml")).toBe(
      join(DOCKER, "prometheus.yml"),
    );
  });

  it("loads the alert rules into Prometheus, and nothing else from that folder", () => {
    expect(prometheus.rule_files.length).toBeGreaterThan(0);
    for (const pattern of prometheus.rule_files) {
      const folder = repoPath("prometheus", posix.dirname(pattern));
      expect(folder, `nothing is mounted at ${posix.dirname(pattern)}`).toBeDefined();
      const matched = readdirSync(folder!).filter((file) =>
        globToRegExp(posix.basename(pattern)).test(file),
      );
      expect(matched.map((file) => relative(ROOT, join(folder!, file)))).toEqual([
        "grafana/alerts/switchboard.rules.yaml",
      ]);
    }
  });

  it("scrapes compose services on the ports they listen on: the front end, every worker, redis_exporter", () => {
    const jobs = new Map(prometheus.scrape_configs.map((job) => [job.job_name, job]));
    for (const job of prometheus.scrape_configs) {
      for (const target of (job.static_configs ?? []).flatMap((c) => c.targets)) {
        expectReachable(target, `scrape job ${job.job_name}`);
      }
      for (const sd of job.dns_sd_configs ?? []) {
        expect(sd.type).toBe("A");
        for (const name of sd.names)
          expectReachable(`${name}:${sd.port}`, `scrape job ${job.job_name}`);
      }
    }
    expect(jobs.get("switchboard-frontend")?.static_configs?.[0]?.targets).toEqual([
      `frontend:${flag(service("frontend").command, "--port")}`,
    ]);
    expect(jobs.get("switchboard-worker")?.dns_sd_configs?.[0]).toMatchObject({
      names: ["worker"],
      port: Number(flag(service("worker").command, "--metrics-port")),
    });
    expect(jobs.get("redis")?.static_configs?.[0]?.targets).toEqual(["redis-exporter:9121"]);
  });

  it("stores exemplars in Prometheus, for the trace links of latency panels", () => {
    expect(service("prometheus").command).toContain("--enable-feature=exemplar-storage");
  });

  it("has Tempo and the collector listen where the stack sends traces", () => {
    const tempo = readYaml<{
      server: { http_listen_port: number };
      distributor: { receivers: { otlp: { protocols: { grpc: { endpoint: string } } } } };
    }>("docker/tempo.yaml");
    expect(listens("tempo")).toContain(tempo.server.http_listen_port);
    expect(listens("tempo")).toContain(
      hostPort(tempo.distributor.receivers.otlp.protocols.grpc.endpoint).port,
    );

    const collector = readYaml<{
      receivers: { otlp: { protocols: Record<string, { endpoint: string }> } };
      exporters: Record<string, { endpoint: string }>;
      service: { pipelines: Record<string, { receivers: string[]; exporters: string[] }> };
    }>("docker/otel-collector.yaml");
    for (const { endpoint } of Object.values(collector.receivers.otlp.protocols)) {
      expect(hostPort(endpoint).host).toBe("0.0.0.0");
      expect(listens("otel-collector")).toContain(hostPort(endpoint).port);
    }
    for (const [name, { endpoint }] of Object.entries(collector.exporters)) {
      expectReachable(endpoint, `collector exporter ${name}`);
    }
    expect(collector.service.pipelines.traces).toMatchObject({
      receivers: ["otlp"],
      exporters: ["otlp"],
    });
  });

  it("gives Grafana its datasources, the dashboards folder and a home dashboard that exist", () => {
    const mounted = (path: string) => repoPath("grafana", path);
    expect(mounted("/etc/grafana/provisioning/datasources")).toBe(
      join(ROOT, "grafana/provisioning/datasources"),
    );
    expect(mounted("/etc/grafana/provisioning/dashboards")).toBe(
      join(ROOT, "grafana/provisioning/dashboards"),
    );
    const providers = readYaml<{ providers: { type: string; options: { path: string } }[] }>(
      "grafana/provisioning/dashboards/dashboards.yaml",
    ).providers;
    expect(providers.length).toBeGreaterThan(0);
    for (const provider of providers) {
      expect(provider.type).toBe("file");
      expect(mounted(provider.options.path)).toBe(join(ROOT, "grafana/dashboards"));
    }
    const home = service("grafana").environment!.GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH!;
    expect(existsSync(mounted(home) ?? ""), home).toBe(true);
  });
});

describe("grafana/provisioning/datasources", () => {
  it("reaches Prometheus and Tempo at their services", () => {
    expect(datasources.map((d) => [d.type, d.uid]).sort()).toEqual([
      ["prometheus", "prometheus"],
      ["tempo", "tempo"],
    ]);
    for (const { name, url } of datasources) expectReachable(url, `datasource ${name}`);
  });

  it("links exemplars' trace_id to Tempo, and knows Prometheus's scrape interval", () => {
    const prom = datasources.find((d) => d.type === "prometheus")!;
    expect(prom.jsonData?.exemplarTraceIdDestinations).toEqual([
      expect.objectContaining({ name: "trace_id", datasourceUid: "tempo" }),
    ]);
    expect(prom.jsonData?.timeInterval).toBe(prometheus.global.scrape_interval);
  });
});

describe("grafana/dashboards", () => {
  const all = dashboards();

  it("holds the pipeline and the Redis dashboards, with unique uids", () => {
    expect(all.map((d) => d.dashboard.title).sort()).toEqual([
      "Switchboard — Redis",
      "Switchboard — pipeline",
    ]);
    expect(new Set(all.map((d) => d.dashboard.uid)).size).toBe(all.length);
  });

  it("names every datasource by a datasource variable of its type, a type that is provisioned", () => {
    const provisioned = new Set(datasources.map((d) => d.type));
    for (const { file, dashboard } of all) {
      const variables = new Map(dashboard.templating.list.map((v) => [v.name, v]));
      for (const panel of panelsOf(dashboard)) {
        if (panel.type === "row") continue;
        expect(panel.targets?.length, `${file} / ${panel.title}`).toBeGreaterThan(0);
        const refs: DatasourceRef[] = [
          panel.datasource ?? {},
          ...(panel.targets ?? []).map((t) => t.datasource ?? panel.datasource ?? {}),
        ];
        for (const ref of refs) {
          const where = `${file} / ${panel.title}: datasource ${JSON.stringify(ref)}`;
          const name = /^\$\{(\w+)\}$/.exec(ref.uid ?? "")?.[1];
          expect(name, `${where} is not a variable`).toBeDefined();
          expect(variables.get(name!)?.type, `${where}: no datasource variable`).toBe("datasource");
          expect(variables.get(name!)?.query, where).toBe(ref.type);
        }
      }
      for (const variable of dashboard.templating.list.filter((v) => v.type === "datasource")) {
        expect(provisioned, `${file}: variable ${variable.name}`).toContain(variable.query);
      }
    }
  });

  it("has job and instance variables: label values of a metric it shows, several or All", () => {
    for (const { file, dashboard } of all) {
      const variables = new Map(dashboard.templating.list.map((v) => [v.name, v]));
      expect(variables.get("datasource"), file).toMatchObject({
        type: "datasource",
        query: "prometheus",
      });
      const shown = new Set(dashboardQueries(dashboard).flatMap(({ expr }) => metricNames(expr)));
      const metric = (name: string, query: RegExp) => {
        const variable = variables.get(name);
        expect(variable, `${file}: variable ${name}`).toMatchObject({
          type: "query",
          datasource: { type: "prometheus", uid: "${datasource}" },
          multi: true,
          includeAll: true,
        });
        const selected = query.exec(variableQuery(variable!))?.[1];
        expect(selected, `${file}: ${name} asks ${variableQuery(variable!)}`).toBeDefined();
        expect(shown, `${file}: ${name} reads a metric no panel shows`).toContain(selected);
        return selected;
      };
      const job = metric("job", /^label_values\((\w+), job\)$/);
      const instance = metric("instance", /^label_values\((\w+)\{job=~"\$job"\}, instance\)$/);
      expect(instance, file).toBe(job);
    }
  });

  it("has a partition variable: the partitions of the stage gauges, several or All, that the partition panels follow", () => {
    const pipeline = all.find((d) => d.dashboard.uid === "switchboard-pipeline")!.dashboard;
    const partition = pipeline.templating.list.find((v) => v.name === "partition");
    expect(partition).toMatchObject({ type: "query", multi: true, includeAll: true });
    expect(variableQuery(partition!)).toBe(
      'label_values(switchboard_group_lag{job=~"$job"}, partition)',
    );
    const following = dashboardQueries(pipeline).filter(({ expr }) => expr.includes("$partition"));
    expect(following.length).toBeGreaterThanOrEqual(2);
    for (const { where, expr } of following) {
      for (const { name, matchers } of selectorsOf(expr)) {
        expect(name, where).toMatch(/^switchboard_group_/);
        expect(matchers, where).toContain('partition=~"$partition"');
      }
    }
  });

  it("filters every query by the job and instance chosen, the cluster-wide gauges by job only", () => {
    // Every front end reads the cluster-wide gauges from Redis, and workers export none: an
    // instance filter would only empty their panels.
    const clusterWide =
      /^switchboard_(group_\w+|dead_letters_depth|retry_jobs|breakers|agents|inbox_backlog)$/;
    let checked = 0;
    for (const { dashboard } of all) {
      for (const { where, expr } of dashboardQueries(dashboard)) {
        const selectors = selectorsOf(expr);
        expect(selectors.length, `${where}: ${expr}`).toBeGreaterThan(0);
        for (const { name, matchers } of selectors) {
          checked += 1;
          const wanted = [
            'job=~"$job"',
            ...(clusterWide.test(name) ? [] : ['instance=~"$instance"']),
          ];
          expect(matchers, `${where}: ${name} in ${expr}`).toEqual(expect.arrayContaining(wanted));
        }
      }
    }
    expect(checked).toBeGreaterThan(50);
  });

  it("lays panels out on the 24-column grid with unique ids, and links only to dashboards that exist", () => {
    const known = new Set(all.map((d) => d.dashboard.uid));
    for (const { file, dashboard } of all) {
      const panels = panelsOf(dashboard);
      expect(new Set(panels.map((p) => p.id)).size, file).toBe(panels.length);
      for (const { title, gridPos } of panels) {
        expect(gridPos.x + gridPos.w, `${file} / ${title}`).toBeLessThanOrEqual(24);
      }
      for (const link of dashboard.links ?? []) {
        expect(known, `${file}: ${link.url}`).toContain(/^\/d\/([^/?]+)/.exec(link.url ?? "")?.[1]);
      }
    }
  });

  it("asks for exemplars on every latency percentile of messages and batches", () => {
    const latency =
      /switchboard_(message_delivery_seconds|message_ack_seconds|stage_batch_duration_seconds)_bucket/;
    let seen = 0;
    for (const { dashboard } of all) {
      for (const panel of panelsOf(dashboard)) {
        for (const target of panel.targets ?? []) {
          if (!latency.test(target.expr ?? "")) continue;
          seen += 1;
          expect(target.expr, panel.title).toMatch(/^histogram_quantile\(/);
          expect(target.exemplar, `${panel.title} ${target.refId}`).toBe(true);
        }
      }
    }
    expect(seen).toBeGreaterThanOrEqual(7);
  });

  it("has a panel for each thing operators watch", () => {
    const watched: Record<string, string[]> = {
      "switchboard-pipeline": [
        "switchboard_stage_entries_total",
        "switchboard_group_lag",
        "switchboard_group_pending",
        "switchboard_message_delivery_seconds_bucket",
        "switchboard_message_ack_seconds_bucket",
        "switchboard_stage_batch_duration_seconds_bucket",
        "switchboard_errors_total",
        "switchboard_dead_letters_total",
        "switchboard_dead_letters_depth",
        "switchboard_retries_total",
        "switchboard_webhook_requests_total",
        "switchboard_breakers",
        "switchboard_agents",
        "switchboard_inbox_backlog",
        "switchboard_http_requests_total",
        "switchboard_http_request_duration_seconds_bucket",
      ],
      "switchboard-redis": [
        "redis_memory_used_bytes",
        "redis_memory_max_bytes",
        "redis_commands_processed_total",
        "redis_connected_clients",
        "redis_stream_length",
      ],
    };
    for (const [uid, names] of Object.entries(watched)) {
      const dashboard = all.find((d) => d.dashboard.uid === uid)!.dashboard;
      const queried = panelsOf(dashboard).flatMap((p) =>
        (p.targets ?? []).flatMap((t) => metricNames(t.expr ?? "")),
      );
      expect(queried, uid).toEqual(expect.arrayContaining(names));
    }
  });
});

describe("queries of the dashboards and alert rules", () => {
  it("select only metrics that Switchboard, redis_exporter or Prometheus itself exports", () => {
    // test/e2e/dashboard-metrics.test.ts and stack-serve.test.ts find each one in a scrape.
    const unknown = promQueries().flatMap(({ where, expr }) =>
      metricNames(expr)
        .filter((name) => !/^(switchboard_|process_|nodejs_|redis_)/.test(name) && name !== "up")
        .map((name) => `${name} (${where})`),
    );
    expect(unknown).toEqual([]);
  });

  it("add a stage's partitions up only after taking the max over the front ends", () => {
    // Every front end reports the same {stage, partition} gauges: summing or taking the
    // minimum over them directly would count front ends, so the aggregation right around a
    // group gauge keeps the partition, or is a max (a max of maxes is the same number).
    const around = /(\w+)\s+by\s*\(([^)]*)\)\s*\((?:\w+\()?(switchboard_group_\w+)/g;
    let checked = 0;
    for (const { where, expr } of promQueries()) {
      const selected = expr.match(/\bswitchboard_group_\w+/g) ?? [];
      const aggregated = [...expr.matchAll(around)];
      expect(aggregated.length, `${where}: ${expr}`).toBe(selected.length);
      for (const [, op, labels, name] of aggregated) {
        checked += 1;
        const keeps = labels!.split(",").map((l) => l.trim());
        if (op !== "max") expect(keeps, `${where}: ${op} of ${name}`).toContain("partition");
        expect(keeps, `${where}: ${name}`).toContain("stage");
      }
    }
    expect(checked).toBeGreaterThan(10);
  });
});

describe("grafana/alerts", () => {
  it("gives every alert a severity and a summary, and a promtool unit test in which it fires", () => {
    const tests = readYaml<{
      tests: { alert_rule_test?: { alertname: string; exp_alerts: unknown[] }[] }[];
    }>(RULES_TEST_FILE).tests.flatMap((t) => t.alert_rule_test ?? []);
    const alerts = rules().filter((rule) => rule.alert !== undefined);
    expect(alerts.map((rule) => rule.alert)).toEqual(
      expect.arrayContaining([
        "SwitchboardLagGrowing",
        "SwitchboardPendingGrowing",
        "SwitchboardDeadLettersRising",
        "SwitchboardGroupWithoutConsumer",
        "RedisMemoryNearMaxmemory",
      ]),
    );
    for (const { alert, labels, annotations } of alerts) {
      expect(["warning", "critical"], alert).toContain(labels?.severity);
      expect(annotations?.summary, alert).toBeTruthy();
      expect(
        tests.some((t) => t.alertname === alert && t.exp_alerts.length > 0),
        `${alert} fires in no test of ${RULES_TEST_FILE}`,
      ).toBe(true);
    }
  });
});

describe("docker/Dockerfile", () => {
  const text = readFileSync(join(DOCKER, "Dockerfile"), "utf8");
  // Instructions, continuation lines joined, comments dropped.
  const instructions = text
    .replace(/\\\n/g, " ")
    .split("\n")
    .map((line) => line.trim())
    .filter((line) => line !== "" && !line.startsWith("#"));
  const args = new Map(
    instructions
      .filter((line) => line.startsWith("ARG "))
      .map((line) => line.slice(4).split("=") as [string, string]),
  );
  const froms = instructions
    .filter((line) => line.startsWith("FROM "))
    .map((line) => {
      const [, image = "", , stage] = line.split(/\s+/);
      return {
        image: image.replace(/\$\{(\w+)\}/g, (_, name: string) => args.get(name) ?? ""),
        stage,
      };
    });
  const runtime = instructions.slice(
    instructions.lastIndexOf(instructions.findLast((l) => l.startsWith("FROM "))!),
  );

  it("builds in one stage and runs in another, from a pinned Node that package.json allows", () => {
    expect(froms.map((f) => f.stage)).toEqual(["build", "runtime"]);
    for (const { image } of froms) expect(image).toMatch(/^node:\d+\.\d+\.\d+-[\w-]+$/);
    const [major, minor] = /^node:(\d+)\.(\d+)/.exec(froms[0]!.image)!.slice(1).map(Number);
    const engines = (
      JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as {
        engines: { node: string };
      }
    ).engines.node;
    const [needMajor, needMinor] = /(\d+)\.(\d+)/.exec(engines)!.slice(1).map(Number);
    expect(major! > needMajor! || (major === needMajor && minor! >= needMinor!), engines).toBe(
      true,
    );
    expect(instructions).toContain("RUN npm ci --ignore-scripts --no-audit --no-fund");
    expect(runtime.some((l) => /^RUN npm ci --omit=dev\b/.test(l))).toBe(true);
  });

  it("runs as a user other than root", () => {
    const user = runtime.filter((l) => l.startsWith("USER ")).at(-1);
    expect(user).toBeDefined();
    expect(user!.slice(5).trim()).not.toMatch(/^(root|0)(:|$)/);
  });

  it("copies only what exists and .dockerignore lets through", () => {
    const allowed = readFileSync(join(ROOT, ".dockerignore"), "utf8")
      .split("\n")
      .filter((line) => line.startsWith("!"))
      .map((line) => line.slice(1).replace(/\/$/, ""));
    const copies = instructions.filter((l) => l.startsWith("COPY ") && !l.includes("--from="));
    expect(copies.length).toBeGreaterThan(0);
    for (const copy of copies) {
      const sources = copy.split(/\s+/).slice(1, -1);
      for (const source of sources) {
        expect(existsSync(join(ROOT, source)), source).toBe(true);
        expect(allowed, `${source} is excluded by .dockerignore`).toContain(
          source.replace(/\/$/, ""),
        );
      }
    }
  });

  it("checks health with node and the script it copies", () => {
    const healthcheck = instructions.find((l) => l.startsWith("HEALTHCHECK "));
    const command = JSON.parse(/CMD (\[.*\])$/.exec(healthcheck ?? "")![1]!) as string[];
    expect(command[0]).toBe("node");
    expect(command[1]).toBe("/app/docker/healthcheck.js");
    expect(command[2]).toMatch(/^http:\/\/127\.0\.0\.1:8787\/healthz$/);
    expect(runtime).toContain("COPY docker/healthcheck.js ./docker/healthcheck.js");
    expect(instructions).toContain("WORKDIR /app");
    expect(existsSync(join(DOCKER, "healthcheck.js"))).toBe(true);
  });

  it("starts the CLI, so a compose command is a switchboard subcommand", () => {
    expect(runtime).toContain('ENTRYPOINT ["node", "/app/bin/switchboard.js"]');
    expect(existsSync(join(ROOT, "bin/switchboard.js"))).toBe(true);
  });
});
