import { chromium, type Browser, type Page } from "playwright-core";

/**
 * Chromium for the web console's browser tests and screenshots: Debian's `chromium`
 * (`.ci/run` installs it), headless, without the sandbox (CI runs as root), driven by
 * playwright-core. `evil.test` resolves to 127.0.0.1, so a page there is another site.
 */
export const CHROMIUM = "/usr/bin/chromium";
export const FOREIGN_HOST = "evil.test";

export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: [
      "--no-sandbox",
      "--disable-background-networking",
      `--host-resolver-rules=MAP ${FOREIGN_HOST} 127.0.0.1`,
    ],
  });
}

/** The console's address on a `serve` whose MCP endpoint is `mcp`. */
export const consoleUrl = (mcp: URL, hash = ""): string =>
  new URL(`/console/${hash === "" ? "" : `#/${hash}`}`, mcp).href;

/** Opens the console and logs in with the operator token; resolves on the agents page. */
export async function logIn(page: Page, mcp: URL, token: string, name?: string): Promise<void> {
  await page.goto(consoleUrl(mcp));
  await page.getByLabel("Operator token").fill(token);
  if (name !== undefined) await page.getByLabel(/^Your name/).fill(name);
  await page.getByRole("button", { name: "Log in" }).click();
  await page.getByRole("heading", { level: 1, name: "Agents" }).waitFor();
}
