import { spawn, type ChildProcess } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Redis } from "ioredis";

/**
 * A redis-server of a test's own, with an append-only file fsynced on every write, that
 * the test may kill (SIGKILL) and restart on the same port and data: never the shared one.
 */
export class OwnRedis {
  #child: ChildProcess | undefined;

  private constructor(
    readonly port: number,
    readonly dir: string,
  ) {}

  static async start(): Promise<OwnRedis> {
    const redis = new OwnRedis(await freePort(), await mkdtemp(join(tmpdir(), "sb-redis-")));
    await redis.#spawn();
    return redis;
  }

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  /** Kills it without warning; what was acknowledged is in the AOF. */
  async kill(): Promise<void> {
    await this.#signal("SIGKILL");
  }

  /** Starts it again on the same port and data directory. */
  async restart(): Promise<void> {
    await this.#spawn();
  }

  async stop(): Promise<void> {
    await this.#signal("SIGTERM");
    await rm(this.dir, { recursive: true, force: true });
  }

  async #spawn(): Promise<void> {
    const args = ["--port", String(this.port), "--bind", "127.0.0.1", "--dir", this.dir];
    args.push("--appendonly", "yes", "--appendfsync", "always", "--save", "");
    this.#child = spawn("redis-server", args, { stdio: "ignore" });
    const client = new Redis(this.url, { lazyConnect: true, retryStrategy: () => 50 });
    try {
      for (let i = 0; i < 100; i++) {
        try {
          if (client.status !== "ready") await client.connect();
          if ((await client.ping()) === "PONG") return;
        } catch {
          await new Promise((resolve) => setTimeout(resolve, 50));
        }
      }
      throw new Error(`redis-server on port ${this.port} did not start`);
    } finally {
      client.disconnect();
    }
  }

  async #signal(signal: NodeJS.Signals): Promise<void> {
    const child = this.#child;
    if (child === undefined || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((resolve) => child.once("exit", resolve));
    child.kill(signal);
    await exited;
  }
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}
