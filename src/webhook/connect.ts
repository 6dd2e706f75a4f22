import { lookup, type LookupAddress, type LookupOptions } from "node:dns";
import { isIP } from "node:net";
import { Agent, buildConnector, type Dispatcher } from "undici";
import { isPublicAddress, rangeOf } from "./address.js";

/** The `code` of the error a connection to a forbidden address fails with. */
export const FORBIDDEN_ADDRESS = "ERR_SWITCHBOARD_FORBIDDEN_ADDRESS";

/** A connection refused because its address is not public; `undici's `request` rejects with it. */
export class ForbiddenAddressError extends Error {
  readonly code = FORBIDDEN_ADDRESS;

  constructor(
    readonly host: string,
    readonly address: string,
  ) {
    super(
      host === address
        ? `${address} is a ${rangeOf(address)} address`
        : `${host} resolves to ${address}, a ${rangeOf(address)} address`,
    );
    this.name = "ForbiddenAddressError";
  }
}

type LookupCallback = (
  error: NodeJS.ErrnoException | null,
  address: string | LookupAddress[],
  family?: number,
) => void;

/**
 * `dns.lookup` for the connect step: resolves once, and refuses the connection if any
 * address is not public. The socket connects to the address this returns, so there is no
 * window between the check and the connection for a DNS answer to change in (rebinding).
 */
export function publicOnlyLookup(
  hostname: string,
  options: LookupOptions,
  callback: LookupCallback,
): void {
  lookup(hostname, { ...options, all: true }, function checked(error, addresses) {
    if (error !== null) return callback(error, []);
    const forbidden = addresses.find((a) => !isPublicAddress(a.address));
    if (forbidden !== undefined) {
      return callback(new ForbiddenAddressError(hostname, forbidden.address), []);
    }
    const first = addresses[0];
    if (options.all === true || first === undefined) return callback(null, addresses);
    callback(null, first.address, first.family);
  });
}

/**
 * Connects only to public addresses: an IP literal is judged before connecting (the OS
 * does no lookup for it), a name by {@link publicOnlyLookup} inside the connect step.
 */
function publicOnlyConnector(): buildConnector.connector {
  const connect = buildConnector({ lookup: publicOnlyLookup });
  return function connectPublic(options, callback) {
    const host = options.hostname.replace(/^\[|\]$/g, "");
    if (isIP(host) !== 0 && !isPublicAddress(host)) {
      callback(new ForbiddenAddressError(host, host), null);
      return;
    }
    connect(options, callback);
  };
}

/** The two HTTP clients, made when first used; `[allowPrivateNetworks]`. */
const dispatchers = new Map<boolean, Dispatcher>();

/**
 * The HTTP client webhooks are POSTed with, shared by the first tries and the retries: an
 * undici `Agent`, which keeps a pool of keep-alive connections per origin, so a busy
 * endpoint is not reconnected to for each message. With `webhooks.allowPrivateNetworks`
 * false it reaches public addresses only.
 */
export function webhookDispatcher(allowPrivateNetworks: boolean): Dispatcher {
  let dispatcher = dispatchers.get(allowPrivateNetworks);
  if (dispatcher === undefined) {
    dispatcher = new Agent(allowPrivateNetworks ? {} : { connect: publicOnlyConnector() });
    dispatchers.set(allowPrivateNetworks, dispatcher);
  }
  return dispatcher;
}
