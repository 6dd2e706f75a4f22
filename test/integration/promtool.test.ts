import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { stringify as stringifyYaml } from "yaml";
import { ROOT } from "../support/cli.js";
import { runPromtool, SKIP_PROMTOOL, SKIP_PROMTOOL_REASON } from "../support/promtool.js";
import { readYaml, RULES_FILE, RULES_TEST_FILE } from "../support/stack.js";

/** The alert rules and the Prometheus config, checked by Prometheus's own promtool. */
describe.skipIf(SKIP_PROMTOOL)(`promtool (${SKIP_PROMTOOL_REASON})`, () => {
  it("passes `promtool check rules` on the alert rules", async () => {
    const { code, output } = await runPromtool(["check", "rules", RULES_FILE]);
    expect(output).toMatch(/SUCCESS: \d+ rules found/);
    expect(code, output).toBe(0);
  });

  it("passes the rules' unit tests (`promtool test rules`): each alert fires when it should, and only then", async () => {
    const { code, output } = await runPromtool(["test", "rules", RULES_TEST_FILE]);
    expect(code, output).toBe(0);
    expect(output).toContain("SUCCESS");
  });

  it("passes `promtool check config` on docker/prometheus.yml, with the rules it loads in the stack", async () => {
    // In the stack the rules are mounted at /etc/prometheus/rules; here they are read
    // from the repository, everything else as it is.
    const config = readYaml<Record<string, unknown>>("docker/prometheus.yml");
    const dir = await mkdtemp(join(tmpdir(), "switchboard-promtool-"));
    try {
      const file = join(dir, "prometheus.yml");
      await writeFile(file, stringifyYaml({ ...config, rule_files: [join(ROOT, RULES_FILE)] }));
      const { code, output } = await runPromtool(["check", "config", file]);
      expect(code, output).toBe(0);
      expect(output).toMatch(/SUCCESS: 1 rule files found/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
