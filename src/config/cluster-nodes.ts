/** One node of a Redis Cluster, as REDIS_CLUSTER_NODES names it. */
export interface ClusterNode {
  host: string;
  port: number;
}

const EXAMPLE = "10.0.0.1:7000,10.0.0.2:7000,10.0.0.3:7000";
/** `host:port` or `[ipv6]:port`; the port checked apart, to say what is wrong with it. */
const NODE = /^(\[[0-9A-Fa-f:.]+\]|[^\s:[\]/]+):([^:]*)$/;

/**
 * Reads a comma-separated list of cluster nodes, `host:port,host:port`. Spaces around an
 * item and empty items (a trailing comma) are ignored; anything else that is not a node
 * throws an Error saying what is wrong and how to write it (the caller names the setting).
 */
export function parseClusterNodes(value: string): ClusterNode[] {
  const items = value
    .split(",")
    .map((item) => item.trim())
    .filter((item) => item !== "");
  if (items.length === 0) {
    throw new Error(`the list is empty; give the cluster's nodes as host:port, such as ${EXAMPLE}`);
  }
  const nodes: ClusterNode[] = [];
  const seen = new Set<string>();
  for (const item of items) {
    const node = parseNode(item);
    const key = `${node.host.toLowerCase()}:${node.port}`;
    if (seen.has(key)) throw new Error(`\`${item}\` is listed twice; list each node once`);
    seen.add(key);
    nodes.push(node);
  }
  return nodes;
}

function parseNode(item: string): ClusterNode {
  if (/\s/.test(item)) {
    throw new Error(`\`${item}\` contains a space; separate nodes with commas, such as ${EXAMPLE}`);
  }
  if (item.includes("://")) {
    throw new Error(`\`${item}\` is a URL; give host:port without the scheme, such as ${EXAMPLE}`);
  }
  const match = NODE.exec(item);
  if (match === null && !item.startsWith("[") && item.split(":").length > 2) {
    throw new Error(`\`${item}\`: write an IPv6 address in brackets, such as [::1]:7000`);
  }
  const [, host = "", portText = ""] = match ?? [];
  if (match === null || portText === "") {
    const what = item.startsWith(":") ? "has no host" : "has no port";
    throw new Error(`\`${item}\` ${what}; write each node as host:port, such as ${EXAMPLE}`);
  }
  const port = Number(portText);
  if (!/^\d+$/.test(portText) || port < 1 || port > 65535) {
    throw new Error(`the port of \`${item}\` is not a port number; give one from 1 to 65535`);
  }
  return { host: host.startsWith("[") ? host.slice(1, -1) : host, port };
}
