/** A node of a Redis Cluster, as a line of CLUSTER NODES describes it. */
export interface NodeEntry {
  id: string;
  /** `ip:port`, as the cluster announces it. */
  address: string;
  hostname: string | undefined;
  role: "master" | "slave" | undefined;
  master: boolean;
  failed: boolean;
  /** Whether it serves `slot` (not counting one it is importing). */
  slots(slot: number): boolean;
}

/**
 * CLUSTER NODES: `<id> <ip:port@cport[,hostname]> <flags> <master> <ping> <pong> <epoch>
 * <link> <slot>…`, one node a line.
 */
export function parseClusterNodes(reply: string): NodeEntry[] {
  return reply
    .split("\n")
    .filter((line) => line.trim() !== "")
    .map((line) => {
      const [id = "", endpoint = "", flagList = "", , , , , , ...ranges] = line.trim().split(" ");
      const [address = "", hostname] = endpoint.split(",");
      const flags = flagList.split(",");
      const role = flags.find((flag) => flag === "master" || flag === "slave");
      const served = ranges
        .filter((range) => !range.startsWith("["))
        .map((range) => range.split("-").map(Number));
      return {
        id,
        address: address.split("@")[0] ?? "",
        hostname: hostname === "" ? undefined : hostname,
        role,
        master: role === "master",
        failed: flags.includes("fail") || flags.includes("fail?"),
        slots: (slot: number) =>
          served.some(([start = -1, end = start]) => slot >= start && slot <= end),
      };
    });
}
