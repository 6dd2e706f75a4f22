/** Counts in words, for texts that people and agents read: tool results and CLI output. */

/** `12,345`. */
export function formatCount(n: number): string {
  return Math.round(n).toLocaleString("en-US");
}

/**
 * A count with its noun, singular or plural: `1 message`, `2 messages`, `1,200 dead letters`.
 * `many` is the plural when adding `s` will not do (`1 entry`, `2 entries`).
 */
export function plural(n: number, one: string, many = `${one}s`): string {
  return `${formatCount(n)} ${n === 1 ? one : many}`;
}
