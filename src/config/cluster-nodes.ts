/** One node of a Redis Cluster, as REDIS_CLUSTER_NODES names it. */
export interface ClusterNode {
  host: string;
  port: number;
}

/** How every node of a cluster is spoken to: ACL user and password, TLS. */
export interface ClusterAccess {
  username?: string;
  password?: string;
  tls: boolean;
}

/** REDIS_CLUSTER_NODES read: the nodes, and how to speak to them. */
export interface ClusterSpec {
  nodes: ClusterNode[];
  access: ClusterAccess;
}

const EXAMPLE = "10.0.0.1:7000,10.0.0.2:7000,10.0.0.3:7000";
/** `host:port` or `[ipv6]:port`; the port checked apart, to say what is wrong with it. */
const NODE = /^(\[[0-9A-Fa-f:.]+\]|[^\s:[\]/]+):([^:]*)$/;

/**
 * Reads a comma-separated list of cluster nodes, `host:port,host:port`. An item may be a
 * URL instead, `redis://[[user]:password@]host:port` or `rediss://…` (TLS), as REDIS_URL
 * is written: its user, password and scheme apply to every node (a cluster's nodes share
 * them), so they are given once, on any item, or alike on several. Spaces around an item
 * and empty items (a trailing comma) are ignored; anything else that is not a node throws
 * an Error saying what is wrong and how to write it (the caller names the setting).
 */
export function parseClusterNodes(value: string): ClusterSpec {
  const items = value
    .split(",")
    .map((item) => item.trim())
    .filter((item) => item !== "");
  if (items.length === 0) {
    throw new Error(`the list is empty; give the cluster's nodes as host:port, such as ${EXAMPLE}`);
  }
  const nodes: ClusterNode[] = [];
  const seen = new Set<string>();
  let access: { from: string; access: ClusterAccess } | undefined;
  for (const item of items) {
    if (/\s/.test(item)) {
      throw new Error(
        `\`${redact(item)}\` contains a space; separate nodes with commas, such as ${EXAMPLE}`,
      );
    }
    const node: { node: ClusterNode; access?: ClusterAccess } = item.includes("://")
      ? parseUrl(item)
      : { node: parseNode(item, item) };
    const key = `${node.node.host.toLowerCase()}:${node.node.port}`;
    if (seen.has(key)) throw new Error(`\`${redact(item)}\` is listed twice; list each node once`);
    seen.add(key);
    nodes.push(node.node);
    if (node.access === undefined) continue;
    if (access !== undefined && !sameAccess(access.access, node.access)) {
      throw new Error(
        `\`${redact(item)}\` gives another scheme, user or password than \`${redact(access.from)}\`; ` +
          "a cluster's nodes share them: give them once, on one item, or alike on each",
      );
    }
    access ??= { from: item, access: node.access };
  }
  return { nodes, access: access?.access ?? { tls: false } };
}

/** `redis://[[user]:password@]host:port` or `rediss://…`: the node, and how to speak to it. */
function parseUrl(item: string): { node: ClusterNode; access: ClusterAccess } {
  const shown = redact(item);
  let url: URL;
  try {
    url = new URL(item);
  } catch {
    throw new Error(
      `\`${shown}\` is not a URL; write redis://[user:password@]host:port, or host:port, such as ${EXAMPLE}`,
    );
  }
  if (url.protocol !== "redis:" && url.protocol !== "rediss:") {
    throw new Error(`\`${shown}\`: the scheme must be redis:// or rediss:// (TLS)`);
  }
  if ((url.pathname !== "" && url.pathname !== "/") || url.search !== "" || url.hash !== "") {
    throw new Error(
      `\`${shown}\`: a cluster has one database and takes no options; give redis://[user:password@]host:port`,
    );
  }
  const node = parseNode(url.host, shown);
  const access: ClusterAccess = { tls: url.protocol === "rediss:" };
  if (url.username !== "") access.username = decodeURIComponent(url.username);
  if (url.password !== "") access.password = decodeURIComponent(url.password);
  return { node, access };
}

function sameAccess(a: ClusterAccess, b: ClusterAccess): boolean {
  return a.tls === b.tls && a.username === b.username && a.password === b.password;
}

/** An item as errors show it: a URL's password replaced by `***`. */
function redact(item: string): string {
  return item.replace(/^(rediss?:\/\/[^:@/]*:)[^@/]*@/, "$1***@");
}

/** A `host:port` read; errors name the `item` it came from. */
function parseNode(hostPort: string, item: string): ClusterNode {
  const match = NODE.exec(hostPort);
  if (match === null && !hostPort.startsWith("[") && hostPort.split(":").length > 2) {
    throw new Error(`\`${item}\`: write an IPv6 address in brackets, such as [::1]:7000`);
  }
  const [, host = "", portText = ""] = match ?? [];
  if (match === null || portText === "") {
    const what = hostPort.startsWith(":") ? "has no host" : "has no port";
    throw new Error(`\`${item}\` ${what}; write each node as host:port, such as ${EXAMPLE}`);
  }
  const port = Number(portText);
  if (!/^\d+$/.test(portText) || port < 1 || port > 65535) {
    throw new Error(`the port of \`${item}\` is not a port number; give one from 1 to 65535`);
  }
  return { host: host.startsWith("[") ? host.slice(1, -1) : host, port };
}
