import { execFile } from "node:child_process";
import { join } from "node:path";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";
import { partitionTag } from "../../src/redis/partition-tag.js";
import { ROOT } from "../support/cli.js";
import { useServe } from "../support/mcp.js";
import { redisUrl } from "../support/redis.js";
import {
  exposedNames,
  freePort,
  metricNames,
  promQueries,
  readYaml,
  startProgram,
  which,
} from "../support/stack.js";

/**
 * Pieces of docker/ run against a real `switchboard serve`: the image's healthcheck
 * script, and redis_exporter (Debian's package) configured as in docker/compose.yaml,
 * which must export every Redis metric the dashboards and alert rules query.
 */
const fixture = useServe();

/** Runs docker/healthcheck.js as the container would; its exit code and stderr. */
async function healthcheck(url: string): Promise<{ code: number; stderr: string }> {
  try {
    await promisify(execFile)(process.execPath, [join(ROOT, "docker/healthcheck.js"), url]);
    return { code: 0, stderr: "" };
  } catch (error) {
    const failed = error as { code: number; stderr: string };
    return { code: failed.code, stderr: failed.stderr };
  }
}

describe("docker/healthcheck.js", () => {
  it("exits 0 when /healthz answers", async () => {
    expect(await healthcheck(`${fixture.serve.url.origin}/healthz`)).toEqual({
      code: 0,
      stderr: "",
    });
  });

  it("exits 1 on an error status or when nothing listens", async () => {
    const notFound = await healthcheck(`${fixture.serve.url.origin}/nowhere`);
    expect(notFound).toEqual({ code: 1, stderr: expect.stringContaining("answered 404") });
    const closed = await healthcheck(`http://127.0.0.1:${await freePort()}/healthz`);
    expect(closed).toEqual({ code: 1, stderr: expect.stringContaining("ECONNREFUSED") });
  });
});

const exporter = which("prometheus-redis-exporter");

describe.skipIf(exporter === undefined)(
  "redis_exporter as the stack runs it (skipped when prometheus-redis-exporter is not on PATH: .ci/run installs Debian's package)",
  () => {
    it("exports every redis_* metric the dashboards and rules query, with Switchboard's stage streams", async () => {
      // The stack's stream pattern (db0=sb:{p0}:*), for this test's key prefix.
      const compose = readYaml<{
        services: Record<string, { environment?: Record<string, string> }>;
      }>("docker/compose.yaml");
      const pattern =
        compose.services["redis-exporter"]!.environment!.REDIS_EXPORTER_CHECK_STREAMS!;
      const stackPrefix = compose.services.frontend!.environment!.SWITCHBOARD_PREFIX!;
      const port = await freePort();
      const program = await startProgram(
        exporter!,
        [
          `-redis.addr=${redisUrl()}`,
          `-web.listen-address=127.0.0.1:${port}`,
          `-check-streams=${pattern.replace(`=${stackPrefix}:`, `=${fixture.prefix}:`)}`,
        ],
        port,
        "/metrics",
      );
      try {
        const text = await (await fetch(`${program.origin}/metrics`)).text();
        const exposed = exposedNames(text);
        const missing = promQueries().flatMap(({ where, expr }) =>
          metricNames(expr)
            .filter((name) => name.startsWith("redis_") && !exposed.has(name))
            .map((name) => `${name} (${where})`),
        );
        expect(missing).toEqual([]);
        expect(text).toContain("redis_up 1");
        for (const stage of ["validate", "route", "deliver", "persist"]) {
          expect(text).toMatch(
            new RegExp(
              `redis_stream_length\\{db="db0",stream="${fixture.prefix}:\\{${partitionTag(0).replace(".", "\\.")}\\}:${stage}"\\}`,
            ),
          );
        }
      } finally {
        await program.stop();
      }
    });
  },
);
