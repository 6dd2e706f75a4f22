import { isIP } from "node:net";

/** `::ffff:10.0.0.5` → `10.0.0.5`: one client, one key, whichever socket family it came in on. */
function plain(address: string): string {
  return address.startsWith("::ffff:") && isIP(address.slice(7)) === 4 ? address.slice(7) : address;
}

/** `a, b` and repeated headers → `[a, b, …]`, in order. */
function hops(forwardedFor: string | readonly string[] | undefined): string[] {
  const values = typeof forwardedFor === "string" ? [forwardedFor] : (forwardedFor ?? []);
  return values.flatMap((value) => value.split(",").map((hop) => hop.trim()));
}

/**
 * The address a request comes from, for per-client limits: the socket's peer, unless
 * that is one of `trustedProxies`; then the last hop of `X-Forwarded-For` that is not a
 * trusted proxy (what the nearest trusted proxy saw). Hops before it are whatever the
 * client wrote, so they are never believed. A hop that is not an IP address stops the
 * walk at the proxy that wrote it.
 */
export function clientAddress(
  peer: string | undefined,
  forwardedFor: string | readonly string[] | undefined,
  trustedProxies: ReadonlySet<string>,
): string {
  let address = plain(peer ?? "unknown");
  if (!trustedProxies.has(address)) return address;
  const list = hops(forwardedFor);
  for (let i = list.length - 1; i >= 0; i--) {
    const hop = plain(list[i]!);
    if (isIP(hop) === 0) return address;
    address = hop;
    if (!trustedProxies.has(hop)) return hop;
  }
  return address;
}

/**
 * Whether a request came over HTTPS: on a TLS socket, or by `X-Forwarded-Proto: https`
 * from one of `trustedProxies` (anyone else could write that header).
 */
export function cameOverHttps(
  socket: { remoteAddress?: string | undefined; encrypted?: boolean },
  forwardedProto: string | readonly string[] | undefined,
  trustedProxies: ReadonlySet<string>,
): boolean {
  if (socket.encrypted === true) return true;
  if (!trustedProxies.has(plain(socket.remoteAddress ?? ""))) return false;
  const first = hops(forwardedProto)[0];
  return first?.toLowerCase() === "https";
}
