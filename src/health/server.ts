import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { observeHttp } from "../telemetry/record.js";
import type { ProbeHandler } from "./probes.js";

export interface ProbeServer {
  /** Where it listens, e.g. `http://127.0.0.1:9464`. */
  url: string;
  close(): Promise<void>;
}

/** A small HTTP server answering only the probe paths: `switchboard worker --metrics-port`. */
export async function startProbeServer(options: {
  host: string;
  port: number;
  probes: ProbeHandler;
}): Promise<ProbeServer> {
  const server = createServer(function answer(req, res) {
    const path = new URL(req.url ?? "/", "http://localhost").pathname;
    observeHttp(req, res, path);
    if (!options.probes(req, res, path)) {
      res.writeHead(404, { "content-type": "text/plain" }).end("not found; try /metrics");
    }
  });
  const url = await listen(server, options.port, options.host);
  return {
    url,
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** Listens on `host:port` (0: any free port); resolves to `http://host:port` once it does. */
export async function listen(server: Server, port: number, host: string): Promise<string> {
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => {
      server.off("error", reject);
      resolve();
    });
  });
  const { address, port: bound } = server.address() as AddressInfo;
  return `http://${address.includes(":") ? `[${address}]` : address}:${bound}`;
}
