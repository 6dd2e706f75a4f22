import { readFile } from "node:fs/promises";
import type { IncomingMessage, ServerResponse } from "node:http";
import { extname, join } from "node:path";

/** The console's Content Security Policy: its own scripts, styles and requests only. */
export const CONSOLE_CSP =
  "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
  "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'";

/** Headers of every answer under `/console`. */
export const SECURITY_HEADERS: Readonly<Record<string, string>> = {
  "content-security-policy": CONSOLE_CSP,
  "x-content-type-options": "nosniff",
  "referrer-policy": "no-referrer",
};

const CONTENT_TYPES: ReadonlyMap<string, string> = new Map([
  [".html", "text/html; charset=utf-8"],
  [".js", "text/javascript; charset=utf-8"],
  [".mjs", "text/javascript; charset=utf-8"],
  [".css", "text/css; charset=utf-8"],
  [".json", "application/json"],
  [".map", "application/json"],
  [".svg", "image/svg+xml"],
  [".png", "image/png"],
  [".ico", "image/x-icon"],
  [".woff2", "font/woff2"],
  [".txt", "text/plain; charset=utf-8"],
]);

/** An asset's name: one path segment of safe characters, never `.` or `..`. */
const ASSET_NAME = /^[A-Za-z0-9_-][A-Za-z0-9._-]*$/;

/** A name with a content hash the build gave it (`index-B1x9QzAa.js`): cached for good. */
const HASHED = /-[A-Za-z0-9_-]{8,}\.[a-z0-9]+$/;

/**
 * The built front end (`dist/console-web`): `index.html` at `/console` and `/console/`,
 * the files of `assets/` by exact name. Nothing else under the directory is reachable,
 * and a name with a slash, `..` or an encoded character is no asset. When the directory
 * is missing, the console says how to build it.
 */
export function staticFiles(
  dir: string,
): (req: IncomingMessage, res: ServerResponse, path: string) => Promise<void> {
  return async function serveStatic(req, res, path) {
    if (req.method !== "GET" && req.method !== "HEAD") {
      res.writeHead(405, { allow: "GET, HEAD", "content-type": "text/plain" }).end("GET only");
      return;
    }
    const asset = path.startsWith("/console/assets/") ? path.slice(16) : undefined;
    const index = path === "/console" || path === "/console/";
    if (!index && (asset === undefined || !ASSET_NAME.test(asset))) {
      res.writeHead(404, { "content-type": "text/plain" }).end("not found");
      return;
    }
    const file = index ? join(dir, "index.html") : join(dir, "assets", asset!);
    let bytes: Buffer;
    try {
      bytes = await readFile(file);
    } catch {
      if (index) {
        res
          .writeHead(503, {
            "content-type": "text/plain; charset=utf-8",
            "cache-control": "no-store",
          })
          .end(`the web console is not built (${dir} is missing): run npm run build\n`);
      } else res.writeHead(404, { "content-type": "text/plain" }).end("not found");
      return;
    }
    res.writeHead(200, {
      "content-type": CONTENT_TYPES.get(extname(file)) ?? "application/octet-stream",
      "content-length": bytes.length,
      "cache-control":
        asset !== undefined && HASHED.test(asset)
          ? "public, max-age=31536000, immutable"
          : "no-cache",
    });
    res.end(req.method === "HEAD" ? undefined : bytes);
  };
}
