import { describe, expect, it } from "vitest";
import type { ServerResponse } from "node:http";
import { problemOf, sendProblem } from "../../src/http/problem.js";
import { SwitchboardError } from "../../src/protocol/errors.js";

function captured(): {
  res: ServerResponse;
  sent: { status?: number; headers?: Record<string, string>; body?: string };
} {
  const sent: { status?: number; headers?: Record<string, string>; body?: string } = {};
  const res = {
    writeHead(status: number, headers: Record<string, string>) {
      sent.status = status;
      sent.headers = headers;
      return this;
    },
    end(body: string) {
      sent.body = body;
    },
  } as unknown as ServerResponse;
  return { res, sent };
}

describe("problem details (RFC 9457)", () => {
  it("carries the code, field and data of the error with the code's status", () => {
    const error = new SwitchboardError("INVALID_INPUT", "to.agent: must be a name", {
      field: "to.agent",
    });
    expect(problemOf(error, "/v1/messages")).toEqual({
      type: "urn:switchboard:problem:invalid_input",
      title: "Bad Request",
      status: 400,
      detail: "to.agent: must be a name",
      instance: "/v1/messages",
      code: "INVALID_INPUT",
      field: "to.agent",
    });
  });

  it("answers RATE_LIMITED 429 with Retry-After in whole seconds, rounded up", () => {
    const { res, sent } = captured();
    const error = new SwitchboardError("RATE_LIMITED", "slow down", {
      data: { retry_after_seconds: 0.25 },
    });
    sendProblem(res, problemOf(error));
    expect(sent.status).toBe(429);
    expect(sent.headers?.["retry-after"]).toBe("1");
    expect(sent.headers?.["content-type"]).toBe("application/problem+json");
    expect(JSON.parse(sent.body ?? "{}")).toMatchObject({
      code: "RATE_LIMITED",
      data: { retry_after_seconds: 0.25 },
    });
  });

  it("names the bearer scheme on 401 and hides what an unforeseen error says", () => {
    const { res, sent } = captured();
    sendProblem(res, problemOf(new SwitchboardError("UNAUTHENTICATED", "no token")));
    expect(sent.status).toBe(401);
    expect(sent.headers?.["www-authenticate"]).toMatch(/^Bearer /);
    const internal = problemOf(new Error("secret stack detail"));
    expect(internal).toMatchObject({ status: 500, code: "INTERNAL" });
    expect(internal.detail).not.toContain("secret");
  });
});
