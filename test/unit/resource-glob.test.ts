import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  overlapWitness,
  resourceCovers,
  resourceProblem,
  resourcesOverlap,
} from "../../src/protocol/resource-glob.js";

/** Small patterns over a small alphabet, so that the brute force below can be complete. */
const segment = fc.oneof(
  { weight: 1, arbitrary: fc.constant("**") },
  {
    weight: 4,
    arbitrary: fc
      .array(fc.constantFrom("a", "b", "*", "?"), { minLength: 1, maxLength: 3 })
      .map((chars) => chars.join(""))
      .filter((s) => !s.includes("**")),
  },
);
const pattern = fc.array(segment, { minLength: 1, maxLength: 2 }).map((s) => s.join("/"));

/** Every path of 1 to 3 segments of 1 to 3 letters from {a, b, x}. */
const LETTERS = ["a", "b", "x"];
const grow = (s: string): string[] =>
  s.length === 3 ? [s] : [s, ...LETTERS.flatMap((c) => grow(s + c))];
const SEGMENTS = LETTERS.flatMap(grow);
const PATHS = [
  ...SEGMENTS,
  ...SEGMENTS.flatMap((a) => SEGMENTS.map((b) => `${a}/${b}`)),
  ...SEGMENTS.flatMap((a) => LETTERS.flatMap((b) => ["a", "b"].map((c) => `${a}/${b}/${c}`))),
];

describe("resource globs", () => {
  it("decide the documented examples", () => {
    expect(resourcesOverlap("src/auth/**", "src/auth/login.ts")).toBe(true);
    expect(resourcesOverlap("src/auth/**", "src/authz.ts")).toBe(false);
    expect(resourcesOverlap("src/auth/**", "src/auth")).toBe(true);
    expect(resourcesOverlap("src/*.ts", "src/**/index.ts")).toBe(true);
    expect(resourcesOverlap("src/*.ts", "src/a/index.ts")).toBe(false);
    expect(resourcesOverlap("src/a*.ts", "src/*b.ts")).toBe(true);
    expect(resourcesOverlap("src/a?.ts", "src/a.ts")).toBe(false);
    expect(resourcesOverlap("**/test.ts", "src/**")).toBe(true);
    expect(resourcesOverlap("build-slot", "build-slot")).toBe(true);
    expect(resourcesOverlap("build-slot", "db-migrations")).toBe(false);
    expect(overlapWitness("src/a*.ts", "src/*b.ts")).toBe("src/ab.ts");
  });

  it("give a path that matches both whenever they overlap, and are symmetric", () => {
    fc.assert(
      fc.property(pattern, pattern, (a, b) => {
        const witness = overlapWitness(a, b);
        expect(resourcesOverlap(b, a)).toBe(witness !== undefined);
        if (witness !== undefined) {
          expect(resourceCovers(a, witness) && resourceCovers(b, witness)).toBe(true);
        }
      }),
      { numRuns: 500 },
    );
  });

  it("never say two patterns are apart when a path matches both", () => {
    fc.assert(
      fc.property(pattern, pattern, (a, b) => {
        const both = PATHS.find((path) => resourceCovers(a, path) && resourceCovers(b, path));
        if (both !== undefined) expect(resourcesOverlap(a, b), `${a} ${b}: ${both}`).toBe(true);
      }),
      { numRuns: 300 },
    );
  });

  it("cover paths as globs do: `*` and `?` within a segment, `**` across them", () => {
    expect(resourceCovers("src/**", "src/a/b/c.ts")).toBe(true);
    expect(resourceCovers("src/*", "src/a/b.ts")).toBe(false);
    expect(resourceCovers("src/?.ts", "src/a.ts")).toBe(true);
    expect(resourceCovers("src/?.ts", "src/ab.ts")).toBe(false);
    expect(resourceCovers("src/*.ts", "src/*.ts")).toBe(true);
    expect(resourceCovers("src/a.ts", "src/*.ts")).toBe(false);
  });

  it("refuse malformed resources, naming the fix", () => {
    const problems = {
      "": /at least one character/,
      "/src/auth": /no empty segments/,
      "src/auth/": /no empty segments/,
      "src//a": /no empty segments/,
      "src/../x": /no `.` or `..`/,
      "src/a**": /whole segment/,
      "src/***": /whole segment/,
      "src/[ab].ts": /not supported/,
      "src/{a,b}.ts": /not supported/,
      "src/é.ts": /printable ASCII/,
      " src": /space/,
      ["a".repeat(257)]: /at most 256/,
    };
    for (const [resource, problem] of Object.entries(problems)) {
      expect(resourceProblem(resource), resource).toMatch(problem);
    }
    for (const fine of ["src/auth/**", "build-slot", "**", "src/*.test.ts", "docs/a b.md"]) {
      expect(resourceProblem(fine), fine).toBeUndefined();
    }
  });
});
