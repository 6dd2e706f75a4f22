import type { Command } from "commander";
import { rotateOperatorToken } from "../../console/operator-token.js";
import { globalOptions, withExamples } from "../options.js";
import { withRuntime } from "../runtime.js";

/** `switchboard console token`: the web console's operator token. */
export function registerConsole(program: Command): void {
  const console = program.command("console").description("the web console at /console");
  const token = console
    .command("token")
    .description(
      "make a new operator token for the web console (the last one stops working at once) and print it",
    )
    .option("--json", "print {token} as JSON")
    .action(newToken);
  token.addHelpText(
    "after",
    "\nThe token is printed once: Redis keeps only its SHA-256. Log in at http://HOST:PORT/console/\n" +
      "with it (serve prints the URL). Sessions already open stay open until they expire (8 h)\n" +
      "or log out; run this again to rotate the token.",
  );
  withExamples(token, ["switchboard console token", "switchboard console token --json"]);
}

async function newToken(options: { json?: boolean }, command: Command): Promise<void> {
  const token = await withRuntime(globalOptions(command), (runtime) =>
    rotateOperatorToken(runtime.redis, runtime.keys),
  );
  process.stdout.write(options.json === true ? `${JSON.stringify({ token })}\n` : `${token}\n`);
}
