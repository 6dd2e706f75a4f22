import { describe, expect, it } from "vitest";
import { toErrorInfo } from "../../src/protocol/errors.js";

/** A Redis error reply as ioredis rejects with it: an Error named ReplyError. */
function replyError(message: string): Error {
  return Object.assign(new Error(message), { name: "ReplyError" });
}

/** Which Redis replies are "not now" (REDIS_UNAVAILABLE, retried) rather than a fault. */
describe("toErrorInfo of Redis replies", () => {
  it.each([
    "TRYAGAIN Multiple keys request during rehashing of slot",
    "CLUSTERDOWN The cluster is down",
    // A blocking XREADGROUP whose stream MIGRATE moved to another master (Redis 7).
    "UNBLOCKED the stream key no longer exists",
  ])("%s is transient", (message) => {
    expect(toErrorInfo(replyError(message))).toEqual({ code: "REDIS_UNAVAILABLE", message });
  });

  it("keeps a reply that is a fault INTERNAL", () => {
    const message = "ERR wrong number of arguments for 'xadd' command";
    expect(toErrorInfo(replyError(message)).code).toBe("INTERNAL");
  });
});
