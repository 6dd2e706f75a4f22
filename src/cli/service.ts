import { Switchboard } from "../service/switchboard.js";
import type { GlobalOptions } from "./options.js";
import { withRuntime, type Runtime } from "./runtime.js";

/** The service over a runtime: what the MCP tools do, for CLI commands to do the same way. */
export function serviceOf(runtime: Runtime): Switchboard {
  return new Switchboard({
    target: runtime.target,
    redis: runtime.redis,
    keys: runtime.keys,
    pipeline: runtime.pipeline,
    log: runtime.log,
  });
}

/** Opens a runtime and a service on it, runs `work`, and closes both. */
export function withService<T>(
  globals: GlobalOptions,
  work: (service: Switchboard, runtime: Runtime) => Promise<T>,
): Promise<T> {
  return withRuntime(globals, async (runtime) => {
    const service = serviceOf(runtime);
    try {
      return await work(service, runtime);
    } finally {
      service.close();
    }
  });
}
