import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { loadPipeline, parsePipeline } from "../../src/config/pipeline.js";
import { readSettings } from "../../src/config/settings.js";

function writeTemp(text: string): string {
  const file = join(mkdtempSync(join(tmpdir(), "sb-pipeline-")), "pipeline.yaml");
  writeFileSync(file, text);
  return file;
}

describe("pipeline definition", () => {
  it("loads the shipped default with every stage in order", () => {
    const pipeline = loadPipeline();
    expect(Object.values(pipeline.stages).map((s) => [s.name, s.next])).toEqual([
      ["validate", "route"],
      ["route", "deliver"],
      ["deliver", "persist"],
      ["persist", undefined],
    ]);
  });

  it("lets a stage override the defaults", () => {
    const pipeline = parsePipeline(
      {
        version: 1,
        defaults: { batchSize: 10 },
        stages: { route: { batchSize: 3, stream: "r2" } },
      },
      "x",
    );
    expect(pipeline.stages.validate.batchSize).toBe(10);
    expect(pipeline.stages.route).toMatchObject({ batchSize: 3, stream: "r2", group: "route" });
  });

  it.each([
    [
      "stages:\n  rout: {}\n",
      /field `stages`: unknown stage 'rout'; the stages are validate, route, deliver, persist/,
    ],
    [
      "defaults:\n  batchSize: many\n",
      /field `defaults.batchSize`: expected a positive whole number of entries per read, got "many"/,
    ],
    [
      "stages:\n  deliver:\n    claimIdleMs: -1\n",
      /field `stages.deliver.claimIdleMs`: expected a positive number/,
    ],
    ["limits:\n  maxBodyBytes: 10\n  bogus: 1\n", /field `limits`: .*bogus/],
    [
      "dedupe:\n  deliveryWindowMs: 1000\n",
      /field `dedupe.deliveryWindowMs` \(1000 ms\) is shorter than the redelivery horizon/,
    ],
    [
      "http:\n  sessions:\n    anonymous:\n      perAddress: 0\n",
      /field `http.sessions.anonymous.perAddress`: expected a positive number of sessions/,
    ],
    ["http:\n  maxConections: 5\n", /field `http`: .*maxConections/],
    [
      "http:\n  headersTimeoutMs: 60000\n",
      /field `http.headersTimeoutMs` \(60000\) exceeds `http.requestTimeoutMs` \(30000\)/,
    ],
    [
      "http:\n  maxBodyBytes: 1000\n",
      /field `http.maxBodyBytes` \(1000\) must exceed `limits.maxBodyBytes` \(65536\)/,
    ],
    [
      "http:\n  trustedProxies: [proxy.local]\n",
      /field `http.trustedProxies\[0\]`: expected an IP address such as 10.0.0.5/,
    ],
    [
      "durability: replicatd\n",
      /field `durability.mode`: expected `local` or `replicated`, got "replicatd"/,
    ],
    [
      "durability: 2\n",
      /field `durability`: expected `local`, `replicated` or a block \{mode, replicas, timeoutMs\}, got 2/,
    ],
    [
      "durability:\n  mode: replicated\n  replicas: 0\n",
      /field `durability.replicas`: expected a positive number of replicas/,
    ],
    [
      "durability:\n  mode: replicated\n  timeoutMs: 0\n",
      /field `durability.timeoutMs`: expected a positive number of milliseconds/,
    ],
    ["durability:\n  timeoutMs: 600000\n", /field `durability.timeoutMs`: at most 60000 ms/],
    ["durability:\n  mode: local\n  wait: 1\n", /field `durability`: .*wait/],
  ])("names the file and field of a mistake: %j", (body, message) => {
    const file = writeTemp(`version: 1\n${body}`);
    expect(() => loadPipeline(file)).toThrowError(
      expect.objectContaining({ code: "CONFIG", message: expect.stringMatching(message) }),
    );
    expect(() => loadPipeline(file)).toThrowError(new RegExp(`^${file.replaceAll("/", "\\/")}: `));
  });

  it("reads durability as a word or a block, local unless told", () => {
    const durability = (value?: unknown) =>
      parsePipeline(value === undefined ? { version: 1 } : { version: 1, durability: value }, "x")
        .durability;
    expect(durability()).toEqual({ mode: "local", replicas: 1, timeoutMs: 1000 });
    expect(durability("replicated")).toEqual({ mode: "replicated", replicas: 1, timeoutMs: 1000 });
    expect(durability({ mode: "replicated", replicas: 2, timeoutMs: 500 })).toEqual({
      mode: "replicated",
      replicas: 2,
      timeoutMs: 500,
    });
    expect(loadPipeline().durability).toEqual(durability());
  });

  it("ships the http bounds the schema defaults to", () => {
    expect(loadPipeline().http).toEqual(parsePipeline({ version: 1 }, "x").http);
    expect(parsePipeline({ version: 1 }, "x").http.sessions.anonymous).toEqual({
      max: 256,
      perAddress: 16,
      idleMs: 60_000,
    });
  });

  it("says when the file is not YAML or cannot be read", () => {
    expect(() => loadPipeline(writeTemp("version: [1"))).toThrowError(/not valid YAML/);
    expect(() => loadPipeline("/nonexistent/pipeline.yaml")).toThrowError(
      /cannot read the pipeline file/,
    );
  });
});

describe("settings", () => {
  it("names the variable that has the wrong type", () => {
    expect(() => readSettings({ SWITCHBOARD_LOG_LEVEL: "loud" })).toThrowError(
      /variable `SWITCHBOARD_LOG_LEVEL`: expected one of/,
    );
    expect(() => readSettings({ REDIS_URL: "http://x" })).toThrowError(/variable `REDIS_URL`/);
    expect(readSettings({}).SWITCHBOARD_PREFIX).toBe("sb");
  });
});
