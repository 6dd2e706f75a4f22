import type { Switchboard } from "../service/switchboard.js";
import { inboxUri } from "./resources.js";

/** How long announcements for one inbox are gathered into one hint. */
const COALESCE_MS = 50;

/**
 * Turns the service's mail announcements into `resources/updated` hints for inbox URIs:
 * a burst of mail for one agent gives one hint. Returns the function that stops it.
 */
export function listenForInboxUpdates(
  service: Switchboard,
  deliver: (agent: string, uri: string) => void,
): () => void {
  const pending = new Set<string>();
  let timer: NodeJS.Timeout | undefined;
  const flush = (): void => {
    timer = undefined;
    const agents = [...pending];
    pending.clear();
    for (const agent of agents) deliver(agent, inboxUri(agent));
  };
  const stop = service.onMail((agent) => {
    pending.add(agent);
    timer ??= setTimeout(flush, COALESCE_MS);
  });
  return () => {
    stop();
    clearTimeout(timer);
    pending.clear();
  };
}
