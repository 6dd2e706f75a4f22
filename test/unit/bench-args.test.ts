import { describe, expect, it } from "vitest";
import { parseOptions } from "../../bench/args.js";

/** The first paragraph of the refusal (the usage follows it). */
function refusal(argv: string[]): string {
  try {
    parseOptions(argv);
  } catch (error) {
    return (error as Error).message.split("\n\n")[0]!;
  }
  throw new Error(`${argv.join(" ")} was accepted`);
}

describe("npm run bench arguments", () => {
  it("takes --peers with the figures it uses", () => {
    const options = parseOptions(["--peers", "--messages", "2_000", "--runs", "1"]);
    expect(options).toMatchObject({ peers: true, messages: 2000, runs: 1, cluster: false });
  });

  it("takes --mcp-calls alone, with --runs and --seconds", () => {
    const options = parseOptions(["--mcp-calls", "--runs", "5", "--seconds", "4"]);
    expect(options).toMatchObject({ mcpCalls: true, mcp: false, runs: 5, seconds: 4 });
    expect(refusal(["--mcp-calls", "--seconds", "0"])).toBe(
      "--seconds expects a whole number ≥ 1, got '0'",
    );
    expect(refusal(["--mcp", "--mcp-calls"])).toBe(
      "--mcp and --mcp-calls are separate benchmarks; give one",
    );
  });

  it("refuses zero messages and negative rates, naming the flag and what it expects", () => {
    expect(refusal(["--messages", "0"])).toBe("--messages expects a whole number ≥ 1, got '0'");
    expect(refusal(["--peers", "--rate", "-5"])).toBe(
      "--rate expects a whole number ≥ 0, got '-5'",
    );
    expect(refusal(["--body-bytes=-1"])).toBe("--body-bytes expects a whole number ≥ 1, got '-1'");
  });

  it("refuses unknown scenarios with the benchmarks there are", () => {
    expect(refusal(["--nats"])).toMatch(/^unknown option --nats: the benchmarks are .*--peers/);
    expect(refusal(["peers"])).toMatch(
      /^unexpected argument 'peers': choose a benchmark by its flag/,
    );
  });

  it("refuses two benchmarks at once", () => {
    expect(refusal(["--peers", "--tracing"])).toBe(
      "--tracing and --peers are separate benchmarks; give one",
    );
  });
});
