import { lookup } from "node:dns/promises";
import { BlockList, isIP } from "node:net";

/** Loopback, private, link-local, shared and unique-local ranges: not for webhooks in production. */
const PRIVATE = new BlockList();
for (const [network, prefix] of [
  ["0.0.0.0", 8],
  ["10.0.0.0", 8],
  ["100.64.0.0", 10],
  ["127.0.0.0", 8],
  ["169.254.0.0", 16],
  ["172.16.0.0", 12],
  ["192.168.0.0", 16],
] as const) {
  PRIVATE.addSubnet(network, prefix, "ipv4");
}
for (const [network, prefix] of [
  ["::", 128],
  ["::1", 128],
  ["fc00::", 7],
  ["fe80::", 10],
] as const) {
  PRIVATE.addSubnet(network, prefix, "ipv6");
}

export function isPrivateAddress(address: string): boolean {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address)?.[1];
  if (mapped !== undefined) return PRIVATE.check(mapped, "ipv4");
  const family = isIP(address);
  if (family === 0) return false;
  return PRIVATE.check(address, family === 4 ? "ipv4" : "ipv6");
}

/** The hostname of a URL, without the brackets of an IPv6 literal. */
const hostOf = (url: URL): string => url.hostname.replace(/^\[|\]$/g, "");

/**
 * The private address a URL names literally (or `localhost`), if any: checked at
 * registration, where no DNS lookup should happen.
 */
export function literalPrivateHost(url: URL): string | undefined {
  const host = hostOf(url);
  if (host === "localhost" || host.endsWith(".localhost")) return host;
  return isPrivateAddress(host) ? host : undefined;
}

/** The private address a URL's host resolves to, if any: checked before each delivery. */
export async function resolvesToPrivate(url: URL): Promise<string | undefined> {
  const literal = literalPrivateHost(url);
  if (literal !== undefined) return literal;
  const host = hostOf(url);
  if (isIP(host) !== 0) return undefined;
  const addresses = await lookup(host, { all: true });
  return addresses.find((a) => isPrivateAddress(a.address))?.address;
}
