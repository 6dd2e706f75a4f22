import { mkdtemp, readdir, readFile, rm, stat, utimes, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CredentialsFile, redisLocation } from "../../src/agents/credentials.js";
import { dataDir } from "../../src/config/data-dir.js";

/** The credentials file of `switchboard stdio`, on a real file system. */
let root: string;
let env: NodeJS.ProcessEnv;
const scope = (url: string, prefix = "sb") => ({ url, source: "env" as const, prefix, env });

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), "switchboard-credentials-"));
  env = { SWITCHBOARD_DATA_DIR: join(root, "data") };
});

afterAll(() => rm(root, { recursive: true, force: true }));

describe("the data directory", () => {
  it("is SWITCHBOARD_DATA_DIR, else an absolute XDG_DATA_HOME/switchboard, else ~/.local/share", () => {
    expect(dataDir({ SWITCHBOARD_DATA_DIR: "/srv/sb", XDG_DATA_HOME: "/x" })).toBe("/srv/sb");
    expect(dataDir({ XDG_DATA_HOME: "/x" })).toBe("/x/switchboard");
    expect(dataDir({ XDG_DATA_HOME: "relative" })).toMatch(/\/\.local\/share\/switchboard$/);
  });
});

describe("redisLocation", () => {
  it("names the Redis without user or password, with defaults filled in", () => {
    expect(redisLocation(scope("redis://user:pw@Cache.Example:6380/2"))).toBe(
      "cache.example:6380/2",
    );
    expect(redisLocation(scope("rediss://:pw@127.0.0.1"))).toBe("127.0.0.1:6379/0");
    expect(redisLocation({ ...scope("redis://127.0.0.1:41234"), source: "spawned" })).toBe(
      `switchboard's own redis in ${join(root, "data", "redis")}`,
    );
  });
});

describe("CredentialsFile", () => {
  it("saves atomically with mode 0600 in a 0700 directory, and reads back", async () => {
    const file = new CredentialsFile(scope("redis://:secret@127.0.0.1:6379"), "ada");
    expect(await file.read()).toBeUndefined();
    await file.save("sbt_first");
    await file.save("sbt_second");
    expect(await file.read()).toBe("sbt_second");
    expect((await stat(file.path)).mode & 0o777).toBe(0o600);
    expect((await stat(file.dir)).mode & 0o777).toBe(0o700);
    expect(await readdir(file.dir)).toEqual([file.path.slice(file.dir.length + 1)]);
    expect(`${file.path}${await readFile(file.path, "utf8")}`).not.toContain("secret");
  });

  it("is one file per agent, Redis and prefix; the password is not part of the key", () => {
    const path = (url: string, agent = "ada", prefix = "sb") =>
      new CredentialsFile(scope(url, prefix), agent).path;
    const base = path("redis://127.0.0.1:6379");
    expect(path("redis://:other@127.0.0.1:6379/0")).toBe(base);
    expect(path("redis://127.0.0.1:6380")).not.toBe(base);
    expect(path("redis://127.0.0.1:6379", "ada", "other")).not.toBe(base);
    expect(path("redis://127.0.0.1:6379", "bob")).not.toBe(base);
  });

  it("reads a file that is not a credentials record, or another agent's, as none", async () => {
    const file = new CredentialsFile(scope("redis://127.0.0.1:6379", "garbled"), "ada");
    await file.prepare();
    await writeFile(file.path, "{ half a rec");
    expect(await file.read()).toBeUndefined();
    const eve = { agent: "eve", token: "sbt_x", redis: "", prefix: "garbled", saved_at: "" };
    await writeFile(file.path, JSON.stringify(eve));
    expect(await file.read()).toBeUndefined();
  });

  it("removes temp files left by a killed process once they are old", async () => {
    const file = new CredentialsFile(scope("redis://127.0.0.1:6379", "temps"), "ada");
    await file.prepare();
    const old = `${file.path}.999.dead.tmp`;
    const fresh = `${file.path}.998.live.tmp`;
    await writeFile(old, "{");
    await writeFile(fresh, "{");
    await utimes(old, new Date(0), new Date(0));
    await file.save("sbt_token");
    const names = await readdir(file.dir);
    expect(names).not.toContain(old.slice(file.dir.length + 1));
    expect(names).toContain(fresh.slice(file.dir.length + 1));
  });

  it("refuses a name that is not an agent name, such as a path", () => {
    expect(() => new CredentialsFile(scope("redis://127.0.0.1:6379"), "../../etc/x")).toThrow(
      /'..\/..\/etc\/x' is not an agent name/,
    );
  });
});
