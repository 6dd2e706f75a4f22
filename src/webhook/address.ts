import ipaddr from "ipaddr.js";

/**
 * Which addresses a webhook may reach when `webhooks.allowPrivateNetworks` is false: global
 * unicast only. The ranges come from ipaddr.js (the IANA special-purpose registries), not
 * from a hand-kept list: loopback, private, link-local, carrier-grade NAT, multicast,
 * broadcast, benchmarking (198.18.0.0/15), documentation, reserved, unique-local, and the
 * IPv6 prefixes that carry an IPv4 address (IPv4-mapped, NAT64 64:ff9b::/96 and /48,
 * 6to4 2002::/16, Teredo) are all refused. An IPv4-mapped address is judged as the IPv4
 * address it maps; the other translation prefixes are refused whole, since what they reach
 * depends on a gateway this process cannot see.
 */
export function isPublicAddress(address: string): boolean {
  if (!ipaddr.isValid(address)) return false;
  return ipaddr.process(address).range() === "unicast";
}

/** What an address is, in words, for error messages: `loopback`, `private`, `rfc6052`, … */
export function rangeOf(address: string): string {
  return ipaddr.isValid(address) ? ipaddr.process(address).range() : "not an IP address";
}

/** The hostname of a URL, without the brackets of an IPv6 literal. */
export const hostOf = (url: URL): string => url.hostname.replace(/^\[|\]$/g, "");

/**
 * The non-public host a URL names literally (an IP address outside global unicast, or
 * `localhost`), if any: checked at registration, where no DNS lookup should happen. A
 * name is checked again at each connection, against the address actually connected to
 * (`./connect.ts`).
 */
export function literalPrivateHost(url: URL): string | undefined {
  const host = hostOf(url);
  if (host === "localhost" || host.endsWith(".localhost")) return host;
  return ipaddr.isValid(host) && !isPublicAddress(host) ? host : undefined;
}
