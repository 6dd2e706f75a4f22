// The container's HEALTHCHECK: GET a health URL with Node itself (the image has no curl).
// Exit 0 on a 2xx answer, 1 on anything else, no answer, or no answer within 2 s.
// Usage: node docker/healthcheck.js [URL]   (default http://127.0.0.1:8787/healthz)
import { get } from "node:http";

const url = process.argv[2] ?? "http://127.0.0.1:8787/healthz";

const request = get(url, { timeout: 2000 }, (response) => {
  response.resume();
  const ok =
    response.statusCode !== undefined && response.statusCode >= 200 && response.statusCode < 300;
  if (!ok) console.error(`${url} answered ${response.statusCode}`);
  process.exit(ok ? 0 : 1);
});
request.on("timeout", () => request.destroy(new Error("no answer within 2 s")));
request.on("error", (error) => {
  console.error(`${url}: ${error.message}`);
  process.exit(1);
});
