/**
 * Lease resources: file paths, globs over them (`src/auth/**`), or any name (`build-slot`).
 *
 * A resource is a `/`-separated list of segments. In a segment, `*` stands for any run of
 * characters (none included) and `?` for exactly one; a segment that is exactly `**` stands
 * for any number of whole segments (none included, so `src/auth/**` covers `src/auth` too).
 * Everything else is literal, so `build-slot` is a one-segment name that covers only itself.
 *
 * Two resources **overlap** when some path matches both; {@link overlapWitness} decides it
 * exactly and returns such a path. It walks both patterns at once (a product automaton,
 * memoized, so O(n·m) per segment pair): where both stand on a literal or `?` they must
 * agree on one character; a `*` may end or swallow one character the other produces; a
 * `**` may end or swallow one whole segment the other produces (any segment pattern matches
 * some non-empty segment, so it always can). The same walk, answering true or false, runs
 * in Lua inside the lease scripts (`leases/scripts.ts`); a property test holds the two to
 * the brute-force answer and to each other.
 */

/** The longest resource name. @defaultValue 256 */
export const MAX_RESOURCE_LENGTH = 256;

/** Printable ASCII, so that the Lua (which counts bytes) and this code see the same characters. */
const PRINTABLE = /^[\x20-\x7e]+$/;
/** Character classes, braces, negation and escapes are not supported. */
const UNSUPPORTED = /[[\]{}\\]/;

/** Why `resource` is not a valid lease resource, with the fix; undefined when it is. */
export function resourceProblem(resource: string): string | undefined {
  if (resource.length === 0)
    return "a resource is a path, a glob or a name: give at least one character";
  if (resource.length > MAX_RESOURCE_LENGTH) {
    return `a resource is at most ${MAX_RESOURCE_LENGTH} characters`;
  }
  if (!PRINTABLE.test(resource)) {
    return "a resource is printable ASCII (no control characters or non-ASCII letters)";
  }
  if (resource.trim() !== resource) return "a resource may not begin or end with a space";
  if (UNSUPPORTED.test(resource)) {
    return "character classes `[...]`, braces `{a,b}` and `\\` escapes are not supported: use `*`, `?` and `**`, or lease each path";
  }
  const segments = resource.split("/");
  if (segments.some((s) => s === "")) {
    return "a resource has no empty segments: no leading or trailing `/`, no `//` (write `src/auth/**`, not `/src/auth/`)";
  }
  if (segments.some((s) => s === "." || s === "..")) {
    return "a resource has no `.` or `..` segments: give the path from the repository root";
  }
  if (segments.some((s) => s !== "**" && s.includes("**"))) {
    return "`**` must be a whole segment (`src/**/test.ts`); within a segment use `*`";
  }
  return undefined;
}

/** Whether a segment (a whole path step, or a segment pattern) is the `**` wildcard. */
const GLOBSTAR = "**";

/** A path that matches both resources (read as patterns), or undefined when none does. */
export function overlapWitness(a: string, b: string): string | undefined {
  const p = a.split("/");
  const q = b.split("/");
  const memo = new Map<number, string[] | null>();
  const walk = (i: number, j: number): string[] | undefined => {
    const key = i * (q.length + 2) + j;
    const known = memo.get(key);
    if (known !== undefined) return known ?? undefined;
    const found = step(i, j);
    memo.set(key, found ?? null);
    return found;
  };
  const step = (i: number, j: number): string[] | undefined => {
    const sp = p[i];
    const sq = q[j];
    if (sp === undefined && sq === undefined) return [];
    if (sp === GLOBSTAR) {
      return walk(i + 1, j) ?? (sq === undefined ? undefined : swallow(sq, () => walk(i, j + 1)));
    }
    if (sq === GLOBSTAR) {
      return walk(i, j + 1) ?? (sp === undefined ? undefined : swallow(sp, () => walk(i + 1, j)));
    }
    if (sp === undefined || sq === undefined) return undefined;
    const segment = segmentWitness(sp, sq);
    if (segment === undefined) return undefined;
    const rest = walk(i + 1, j + 1);
    return rest === undefined ? undefined : [segment, ...rest];
  };
  /** A `**` swallows a segment the other side produces (or another `**`, producing nothing). */
  const swallow = (other: string, rest: () => string[] | undefined): string[] | undefined => {
    const tail = rest();
    if (tail === undefined) return undefined;
    return other === GLOBSTAR ? tail : [segmentWitness(other, "*")!, ...tail];
  };
  return walk(0, 0)?.join("/");
}

/** Whether some path matches both resources. */
export function resourcesOverlap(a: string, b: string): boolean {
  return overlapWitness(a, b) !== undefined;
}

/**
 * A non-empty segment matching both segment patterns, or undefined: `*` runs of any
 * characters, `?` one character, the rest literal.
 */
export function segmentWitness(a: string, b: string): string | undefined {
  const memo = new Map<number, string | null>();
  const walk = (i: number, j: number): string | undefined => {
    const key = i * (b.length + 2) + j;
    const known = memo.get(key);
    if (known !== undefined) return known ?? undefined;
    const found = step(i, j);
    memo.set(key, found ?? null);
    return found;
  };
  const prepend = (char: string, rest: string | undefined) =>
    rest === undefined ? undefined : char + rest;
  const step = (i: number, j: number): string | undefined => {
    const ca = a[i];
    const cb = b[j];
    if (ca === undefined && cb === undefined) return "";
    if (ca === "*") {
      if (cb === undefined) return walk(i + 1, j);
      return walk(i + 1, j) ?? (cb === "*" ? walk(i, j + 1) : prepend(one(cb), walk(i, j + 1)));
    }
    if (cb === "*") {
      if (ca === undefined) return walk(i, j + 1);
      return walk(i, j + 1) ?? prepend(one(ca), walk(i + 1, j));
    }
    if (ca === undefined || cb === undefined) return undefined;
    if (ca !== "?" && cb !== "?" && ca !== cb) return undefined;
    return prepend(one(ca === "?" ? cb : ca), walk(i + 1, j + 1));
  };
  const found = walk(0, 0);
  // Only patterns of nothing but `*` share the empty string; they share "x" as well.
  return found === "" ? "x" : found;
}

/** A character a `?` or a literal produces. */
const one = (char: string): string => (char === "?" ? "x" : char);

/** Whether a path (or a name) is covered by a resource pattern. */
export function resourceCovers(pattern: string, path: string): boolean {
  return matches(pattern.split("/"), path.split("/"), GLOBSTAR, segmentMatches);
}

/** Whether a literal segment matches a segment pattern. */
function segmentMatches(pattern: string, segment: string): boolean {
  return matches([...pattern], [...segment], "*", (p, c) => p === "?" || p === c);
}

/**
 * Matching of a literal sequence against a pattern in which `star` stands for any run of
 * items and every other item matches by `one`: segments against `**`, characters against `*`.
 */
function matches<T>(
  pattern: readonly T[],
  subject: readonly T[],
  star: T,
  one: (p: T, s: T) => boolean,
): boolean {
  const memo = new Map<number, boolean>();
  const walk = (i: number, j: number): boolean => {
    const key = i * (subject.length + 2) + j;
    let found = memo.get(key);
    if (found !== undefined) return found;
    const p = pattern[i];
    const rest = j < subject.length;
    if (p === undefined) found = !rest;
    else if (p === star) found = walk(i + 1, j) || (rest && walk(i, j + 1));
    else found = rest && one(p, subject[j]!) && walk(i + 1, j + 1);
    memo.set(key, found);
    return found;
  };
  return walk(0, 0);
}
