import { homedir } from "node:os";
import { isAbsolute, join, resolve } from "node:path";

/**
 * Where Switchboard keeps data on this machine: a spawned Redis's files (`redis/`) and
 * the tokens of `switchboard stdio` agents (`credentials/`).
 *
 * @defaultValue `$SWITCHBOARD_DATA_DIR`, else `$XDG_DATA_HOME/switchboard` (when absolute,
 * as the XDG spec asks), else `~/.local/share/switchboard`
 */
export function dataDir(env: NodeJS.ProcessEnv = process.env): string {
  const own = env.SWITCHBOARD_DATA_DIR;
  if (own !== undefined && own !== "") return resolve(own);
  const xdg = env.XDG_DATA_HOME;
  const base = xdg !== undefined && isAbsolute(xdg) ? xdg : join(homedir(), ".local", "share");
  return join(base, "switchboard");
}
