import { describe, expect, it } from "vitest";
import { toolCalled } from "../../src/mcp/http-input.js";

/** Which tool a stateless request calls: its server is built with that tool alone. */
describe("toolCalled", () => {
  it("names the tool of a tools/call", () => {
    const body = { jsonrpc: "2.0", id: 1, method: "tools/call", params: { name: "heartbeat" } };
    expect(toolCalled(body)).toBe("heartbeat");
  });

  it("names none for anything else, however it is shaped", () => {
    for (const body of [
      undefined,
      null,
      "tools/call",
      [{ method: "tools/call", params: { name: "heartbeat" } }],
      { method: "tools/list" },
      { method: "tools/call" },
      { method: "tools/call", params: null },
      { method: "tools/call", params: { name: 7 } },
      JSON.parse('{"method":"tools/call","params":{"__proto__":{"name":"x"}}}') as unknown,
    ]) {
      expect(toolCalled(body)).toBeUndefined();
    }
  });
});
