import { hostname } from "node:os";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";
import { isPublicAddress, literalPrivateHost } from "../../src/webhook/address.js";
import { FORBIDDEN_ADDRESS, publicOnlyLookup } from "../../src/webhook/connect.js";

describe("which addresses a webhook may reach (webhooks.allowPrivateNetworks: false)", () => {
  it.each([
    ["127.0.0.1", "loopback"],
    ["0.0.0.0", "unspecified"],
    ["10.1.2.3", "private"],
    ["172.20.0.1", "private"],
    ["192.168.1.1", "private"],
    ["100.64.0.1", "carrier-grade NAT"],
    ["169.254.169.254", "link-local (cloud metadata)"],
    ["198.18.0.1", "benchmarking 198.18.0.0/15"],
    ["198.19.255.254", "benchmarking 198.18.0.0/15"],
    ["224.0.0.1", "multicast 224.0.0.0/4"],
    ["239.255.255.250", "multicast 224.0.0.0/4"],
    ["255.255.255.255", "broadcast"],
    ["192.0.2.1", "documentation"],
    ["240.0.0.1", "reserved"],
    ["::", "unspecified"],
    ["::1", "loopback"],
    ["fd00::1", "unique local"],
    ["fe80::1", "link-local"],
    ["ff02::1", "multicast"],
    ["::ffff:10.0.0.1", "IPv4-mapped private"],
    ["::ffff:127.0.0.1", "IPv4-mapped loopback"],
    ["64:ff9b::7f00:1", "NAT64 64:ff9b::/96"],
    ["64:ff9b::808:808", "NAT64 64:ff9b::/96, even of a public address"],
    ["2002:7f00:1::", "6to4 2002::/16"],
    ["2002:808:808::", "6to4 2002::/16, even of a public address"],
    ["2001::1", "Teredo"],
    ["2001:db8::1", "documentation"],
    ["not-an-ip", "not an address"],
  ])("refuses %s (%s)", (address) => {
    expect(isPublicAddress(address)).toBe(false);
  });

  it.each([
    "8.8.8.8",
    "172.32.0.1",
    "198.20.0.1",
    "223.255.255.1",
    "::ffff:8.8.8.8",
    "2606:4700::1111",
  ])("allows %s", (address) => {
    expect(isPublicAddress(address)).toBe(true);
  });

  it("refuses literal private hosts in URLs at registration, without a DNS lookup", () => {
    expect(literalPrivateHost(new URL("http://[64:ff9b::7f00:1]/hook"))).toBe("64:ff9b::7f00:1");
    expect(literalPrivateHost(new URL("http://198.18.0.1/hook"))).toBe("198.18.0.1");
    // WHATWG URL parsing normalises other spellings of an IPv4 address first.
    expect(literalPrivateHost(new URL("http://0x7f.1/hook"))).toBe("127.0.0.1");
    expect(literalPrivateHost(new URL("http://api.localhost/hook"))).toBe("api.localhost");
    expect(literalPrivateHost(new URL("https://hooks.example.com/x"))).toBeUndefined();
  });

  it("the connect-time lookup refuses a name that resolves to a private address", async () => {
    const lookup = promisify(publicOnlyLookup) as (
      host: string,
      options: { all?: boolean },
    ) => Promise<unknown>;
    // Names the registration check cannot judge: they are no IP literal and not `localhost`.
    for (const name of [hostname(), "localhost6", "ip6-localhost"]) {
      const error = await lookup(name, {}).catch((e: unknown) => e);
      if ((error as { code?: string }).code === "ENOTFOUND") continue; // not in this /etc/hosts
      expect(error, name).toMatchObject({ code: FORBIDDEN_ADDRESS });
      expect(String((error as Error).message)).toMatch(/resolves to .*, a (loopback|private)/);
    }
    await expect(lookup("localhost", { all: true })).rejects.toMatchObject({
      code: FORBIDDEN_ADDRESS,
    });
  });
});
