import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { cliEnv, killAll, run } from "../support/cli.js";
import { leaseScenario } from "../support/leases.js";
import {
  call,
  callRaw,
  closeClients,
  joinAs,
  textOf,
  useServe,
  writePipeline,
} from "../support/mcp.js";
import { connect, deleteByPrefix, testPrefix } from "../support/redis.js";

/** Resource leases through real MCP clients and real `switchboard` processes. */
describe("leases between agents on separate processes", () => {
  const prefix = testPrefix();
  let env: NodeJS.ProcessEnv;
  beforeAll(async () => {
    env = cliEnv(prefix, await writePipeline());
  });
  afterEach(async () => {
    killAll();
    await closeClients();
  });
  afterAll(async () => {
    const redis = await connect();
    await deleteByPrefix(redis, prefix);
    await redis.quit();
  });

  it("refuse the second agent, survive the holder's death until the TTL, and fence its late writes", async () => {
    await leaseScenario(env);
  }, 60_000);
});

describe("lease tools", () => {
  const fixture = useServe();

  it("refuse bad input naming the field and the fix", async () => {
    const { client } = await joinAs(fixture.serve.url, "carol", "legacy");
    const refusals = {
      "resources: zero": [
        { resources: [], ttl_seconds: 10 },
        /field `resources`: give at least one resource/,
      ],
      "ttl zero": [
        { resources: ["a"], ttl_seconds: 0 },
        /field `ttl_seconds`: ttl_seconds is at least 1/,
      ],
      "ttl over": [
        { resources: ["a"], ttl_seconds: 3601 },
        /field `ttl_seconds`: ttl_seconds is at most 3600/,
      ],
      glob: [
        { resources: ["src/a**"], ttl_seconds: 5 },
        /field `resources\[0\]`: `\*\*` must be a whole segment/,
      ],
    } as const;
    for (const [what, [args, expected]] of Object.entries(refusals)) {
      const result = await callRaw(client, "acquire_lease", args);
      expect(result.isError, what).toBe(true);
      expect(textOf(result), what).toMatch(expected);
    }
    const unknown = await callRaw(client, "renew_lease", {
      lease_id: "01890000-0000-7000-8000-000000000000",
      ttl_seconds: 5,
    });
    expect(textOf(unknown)).toMatch(
      /^NOT_FOUND: no lease .*list_leases shows the live ones \(field `lease_id`\)/,
    );
  });

  it("refuse releasing or breaking someone else's lease, list the lease, show the resource", async () => {
    const dave = await joinAs(fixture.serve.url, "dave", "legacy");
    const erin = await joinAs(fixture.serve.url, "erin", "modern");
    const lease = await call<{ lease_id: string; fencing_token: number }>(
      dave.client,
      "acquire_lease",
      {
        resources: ["build-slot"],
        ttl_seconds: 30,
      },
    );
    const theirs = await callRaw(erin.client, "release_lease", { lease_id: lease.lease_id });
    expect(textOf(theirs)).toMatch(/^FORBIDDEN: lease \S+ is held by 'dave', not by 'erin'/);
    const notAdmin = await callRaw(erin.client, "break_lease", { lease_id: lease.lease_id });
    expect(textOf(notAdmin)).toMatch(/^FORBIDDEN: break_lease is an admin tool/);
    const listed = await call<{ leases: { lease_id: string; holder: string }[] }>(
      erin.client,
      "list_leases",
      { resource: "build-slot" },
    );
    expect(listed.leases).toMatchObject([{ lease_id: lease.lease_id, holder: "dave" }]);
    const resource = await erin.client.readResource({ uri: "switchboard://leases" });
    const text = (resource.contents[0] as { text: string }).text;
    expect(JSON.parse(text)).toMatchObject({ leases: [{ lease_id: lease.lease_id }] });
    const cli = await run(["leases", "--json"], fixture.env);
    expect(JSON.parse(cli.stdout)).toMatchObject([{ lease_id: lease.lease_id, holder: "dave" }]);
    const table = await run(["leases"], fixture.env);
    expect(table.stdout).toMatch(/lease\s+holder\s+mode\s+token\s+expires in\s+resources/);
    const broken = await run(["leases", "break", lease.lease_id, "--reason", "test"], fixture.env);
    expect(broken.stdout).toContain(`broke lease ${lease.lease_id} of dave`);
    const renew = await callRaw(dave.client, "renew_lease", {
      lease_id: lease.lease_id,
      ttl_seconds: 5,
    });
    expect(textOf(renew)).toMatch(/^LEASE_EXPIRED: .*broken by 'operator'.*\(test\)/);
  });
});
