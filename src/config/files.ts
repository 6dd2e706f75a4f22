import { randomBytes } from "node:crypto";
import { open, readFile, rename, rm } from "node:fs/promises";

/**
 * Files Switchboard writes on this machine (an agent's credentials, an MCP client's
 * configuration): read when they exist, replaced whole or not at all, so a reader never
 * sees half of one and a process killed mid-write leaves the old file as it was.
 */

/** The file's text, or undefined when there is none. */
export async function readIfExists(file: string): Promise<string | undefined> {
  try {
    return await readFile(file, "utf8");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw error;
  }
}

/** Whether a file name is one of {@link writeFileAtomically}'s temporary files. */
export const isTemporaryFile = (name: string): boolean => name.endsWith(".tmp");

/**
 * Writes `text` to `file` whole or not at all: into a temporary file beside it, created
 * with `mode` (set again past the umask), flushed to disk, then renamed over `file`.
 */
export async function writeFileAtomically(file: string, text: string, mode: number): Promise<void> {
  const temporary = `${file}.${process.pid}.${randomBytes(4).toString("hex")}.tmp`;
  try {
    const handle = await open(temporary, "wx", mode);
    try {
      await handle.chmod(mode);
      await handle.writeFile(text);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(temporary, file);
  } catch (error) {
    await rm(temporary, { force: true });
    throw error;
  }
}
