/**
 * Capabilities are names with an optional version: `code-review`, `python@3.12`.
 * A wanted capability matches what an agent has when the names are equal and the wanted
 * version, if any, is a dotted prefix of the agent's: `python@3` matches `python@3.12`,
 * not `python@31`; `python` matches any version.
 */
export interface Capability {
  name: string;
  version: string | undefined;
}

export function parseCapability(text: string): Capability {
  const at = text.indexOf("@");
  return at < 0
    ? { name: text, version: undefined }
    : { name: text.slice(0, at), version: text.slice(at + 1) };
}

export function capabilityMatches(have: string, want: string): boolean {
  const h = parseCapability(have);
  const w = parseCapability(want);
  if (h.name !== w.name) return false;
  if (w.version === undefined) return true;
  if (h.version === undefined) return false;
  return h.version === w.version || h.version.startsWith(`${w.version}.`);
}

export function hasCapability(capabilities: readonly string[], want: string): boolean {
  return capabilities.some((have) => capabilityMatches(have, want));
}

/** `*` matches any run of characters; everything else literally. */
export function globMatches(pattern: string, value: string): boolean {
  const regex = new RegExp(
    `^${pattern
      .split("*")
      .map((part) => part.replace(/[.+?^${}()|[\]\\-]/g, "\\$&"))
      .join(".*")}$`,
  );
  return regex.test(value);
}
