import { createSafeServer, listen, type ConnectionLimits } from "../http/safe-server.js";
import type { Logger } from "../telemetry/log.js";
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
  limits: ConnectionLimits;
  log: Logger;
}): Promise<ProbeServer> {
  const server = createSafeServer(
    function answer(req, res, path) {
      if (!options.probes(req, res, path)) {
        res.writeHead(404, { "content-type": "text/plain" }).end("not found; try /metrics");
      }
    },
    { limits: options.limits, log: options.log },
  );
  const url = await listen(server, options.port, options.host);
  return {
    url,
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
