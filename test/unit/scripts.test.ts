import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { Redis } from "ioredis";
import { describe, expect, it } from "vitest";
import { defineScripts } from "../../src/app/scripts.js";
import { Lua, lua } from "../../src/redis/script.js";

const SRC = fileURLToPath(new URL("../../src", import.meta.url));

/** The text of every TypeScript file under src/. */
const sources = (): string[] =>
  readdirSync(SRC, { recursive: true, encoding: "utf8" })
    .filter((name) => name.endsWith(".ts"))
    .map((name) => readFileSync(join(SRC, name), "utf8"));

describe("Lua scripts", () => {
  it("are all defined on a connection by defineScripts, each once", () => {
    const written = sources().flatMap((text) =>
      [...text.matchAll(/new Script<[\s\S]*?>\(\s*"(\w+)"/g)].map((m) => m[1]!),
    );
    const defined: string[] = [];
    defineScripts({ defineCommand: (name: string) => defined.push(name) } as unknown as Redis);
    expect(defined.sort()).toEqual(written.sort());
    expect(new Set(defined).size).toBe(defined.length);
  });

  it("quote interpolated names as Lua strings and put interpolated Lua in as code", () => {
    const helper = lua`local x = 1`;
    expect(lua`${helper}\nreturn redis.call('HGET', KEYS[1], ${"last_seen"})`.source).toBe(
      "local x = 1\nreturn redis.call('HGET', KEYS[1], 'last_seen')",
    );
    expect(lua`return ${"o."}`).toEqual(new Lua("return 'o.'"));
  });

  it("refuse a name that would not stay a Lua string", () => {
    for (const name of ["it's", "a\\b", "line\nbreak", "é"]) {
      expect(() => lua`return ${name}`).toThrow(/cannot quote/);
    }
  });
});
