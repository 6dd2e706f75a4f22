import { describe, expect, it } from "vitest";
import { resolveSettings } from "../../src/cli/runtime.js";
import { readSettings } from "../../src/config/settings.js";

const specOf = (value: string) => readSettings({ REDIS_CLUSTER_NODES: value }).REDIS_CLUSTER_NODES;
const nodesOf = (value: string) => specOf(value)?.nodes;
const refusal = (value: string) => () => readSettings({ REDIS_CLUSTER_NODES: value });

describe("REDIS_CLUSTER_NODES", () => {
  it("reads host:port lists, spaces around items and a trailing comma ignored", () => {
    expect(nodesOf("10.0.0.1:7000, 10.0.0.2:7001 ,redis-3:7002,")).toEqual([
      { host: "10.0.0.1", port: 7000 },
      { host: "10.0.0.2", port: 7001 },
      { host: "redis-3", port: 7002 },
    ]);
    expect(nodesOf("[::1]:7000")).toEqual([{ host: "::1", port: 7000 }]);
    expect(readSettings({}).REDIS_CLUSTER_NODES).toBeUndefined();
  });

  it("refuses a malformed list, naming the variable, what is wrong and the fix", () => {
    const prefix = "environment: variable `REDIS_CLUSTER_NODES`: ";
    expect(refusal(" , ")).toThrow(
      `${prefix}the list is empty; give the cluster's nodes as host:port`,
    );
    expect(refusal("10.0.0.1")).toThrow(
      `${prefix}\`10.0.0.1\` has no port; write each node as host:port`,
    );
    expect(refusal("10.0.0.1:")).toThrow(`${prefix}\`10.0.0.1:\` has no port`);
    expect(refusal(":7000")).toThrow(`${prefix}\`:7000\` has no host`);
    expect(refusal("a:0")).toThrow(
      `${prefix}the port of \`a:0\` is not a port number; give one from 1 to 65535`,
    );
    expect(refusal("a:65536")).toThrow("the port of `a:65536` is not a port number");
    expect(refusal("a:70x")).toThrow("the port of `a:70x` is not a port number");
    expect(refusal("a:7000,A:7000")).toThrow(
      `${prefix}\`A:7000\` is listed twice; list each node once`,
    );
    expect(refusal("a:7000 b:7001")).toThrow(
      `${prefix}\`a:7000 b:7001\` contains a space; separate nodes with commas`,
    );
    expect(refusal("ftp://a:7000")).toThrow(
      `${prefix}\`ftp://a:7000\`: the scheme must be redis:// or rediss:// (TLS)`,
    );
    expect(refusal("redis://a:7000/2")).toThrow(
      `${prefix}\`redis://a:7000/2\`: a cluster has one database and takes no options`,
    );
    expect(refusal("redis://:secret@a")).toThrow(`${prefix}\`redis://:***@a\` has no port`);
    expect(refusal("::1:7000")).toThrow("write an IPv6 address in brackets, such as [::1]:7000");
  });

  it("reads URL items: their user, password and TLS apply to every node", () => {
    expect(specOf("a:7000,b:7001")?.access).toEqual({ tls: false });
    expect(specOf("redis://:s%40cret@a:7000,b:7001")).toEqual({
      nodes: [
        { host: "a", port: 7000 },
        { host: "b", port: 7001 },
      ],
      access: { password: "s@cret", tls: false },
    });
    expect(specOf("rediss://ops:pw@a:7000,rediss://ops:pw@[::1]:7001")).toEqual({
      nodes: [
        { host: "a", port: 7000 },
        { host: "::1", port: 7001 },
      ],
      access: { username: "ops", password: "pw", tls: true },
    });
  });

  it("refuses URL items that disagree, never echoing a password", () => {
    const attempt = refusal("redis://:pw-first@a:7000,redis://:pw-second@b:7001");
    expect(attempt).toThrow(
      "`redis://:***@b:7001` gives another scheme, user or password than `redis://:***@a:7000`; a cluster's nodes share them",
    );
    expect(attempt).not.toThrow(/pw-first|pw-second/);
    expect(refusal("redis://a:7000,rediss://b:7001")).toThrow("gives another scheme");
  });

  it("names the option when --redis-cluster-nodes gave the value", () => {
    expect(() => resolveSettings({ redisClusterNodes: "a" }, {})).toThrow(
      /^option --redis-cluster-nodes: `a` has no port/,
    );
  });

  it("refuses REDIS_URL and REDIS_CLUSTER_NODES together", () => {
    const both = { REDIS_URL: "redis://127.0.0.1:6379", REDIS_CLUSTER_NODES: "a:7000" };
    expect(() => readSettings(both)).toThrow(
      "REDIS_URL (--redis-url) is given too; give REDIS_URL for one Redis or REDIS_CLUSTER_NODES for a Redis Cluster, not both",
    );
    expect(() =>
      resolveSettings({ redisClusterNodes: "a:7000" }, { REDIS_URL: "redis://h:1" }),
    ).toThrow(/^option --redis-cluster-nodes: REDIS_URL \(--redis-url\) is given too/);
  });
});
