/** A request body parsed as JSON, or why it is not JSON (a phrase to put in an answer). */
export type JsonBody = { ok: true; value: unknown } | { ok: false; reason: string };

/** `application/json`, or a `+json` type such as `application/merge-patch+json`, any parameters. */
export function isJsonMediaType(contentType: string | undefined): boolean {
  const type = (contentType ?? "").split(";")[0]!.trim().toLowerCase();
  return type === "application/json" || /^application\/[^/]+\+json$/.test(type);
}

/** The JSON in a body: refused when its bytes are not UTF-8, it is empty, or not JSON. */
export function parseJsonBody(bytes: Uint8Array): JsonBody {
  let text: string;
  try {
    text = new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch {
    return { ok: false, reason: "the request body is not UTF-8" };
  }
  if (text.trim() === "") return { ok: false, reason: "the request body is empty" };
  try {
    return { ok: true, value: JSON.parse(text) };
  } catch (error) {
    return { ok: false, reason: `not valid JSON (${(error as Error).message})` };
  }
}
