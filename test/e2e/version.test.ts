import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { VERSION } from "../../src/version.js";
import { cliEnv, ROOT, run } from "../support/cli.js";
import { connectLegacy, connectV1, useServe } from "../support/mcp.js";

/** The version shown everywhere is package.json's: the CLI's, and the MCP server's serverInfo. */
const PACKAGE = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as {
  name: string;
  version: string;
};
const fixture = useServe();

describe("the version", () => {
  it("is package.json's when read from src/ (as tsx runs it)", () => {
    expect(VERSION).toBe(PACKAGE.version);
  });

  it.each(["--version", "-V"])(
    "switchboard %s prints it (from dist/) and exits 0",
    async (flag) => {
      const result = await run([flag], cliEnv("unused"));
      expect(result.code, result.stderr).toBe(0);
      expect(result.stdout).toBe(`${PACKAGE.version}\n`);
    },
  );

  it("is the MCP server's serverInfo, to v2 and v1 clients", async () => {
    const v2 = await connectLegacy(fixture.serve.url);
    expect(v2.getServerVersion()).toMatchObject({ name: "switchboard", version: PACKAGE.version });
    const v1 = await connectV1(fixture.serve.url);
    expect(v1.getServerVersion()).toMatchObject({ name: "switchboard", version: PACKAGE.version });
  });
});
