import type { IncomingMessage } from "node:http";

/** A request body read whole, or refused for being longer than allowed. */
export type BodyRead = { tooLarge: false; bytes: Buffer } | { tooLarge: true };

/**
 * Reads a request body of at most `maxBytes`, counting as it streams in: a declared
 * `Content-Length` over the limit is refused before reading anything, and the read stops
 * at the first chunk past it (the rest is never held) with the request left undestroyed,
 * so the caller can still answer 413. A client that goes away rejects.
 */
export async function readBody(req: IncomingMessage, maxBytes: number): Promise<BodyRead> {
  if (Number(req.headers["content-length"]) > maxBytes) return { tooLarge: true };
  const chunks: Buffer[] = [];
  let received = 0;
  const arriving = req.iterator({ destroyOnReturn: false }) as AsyncIterable<Buffer>;
  for await (const chunk of arriving) {
    received += chunk.byteLength;
    if (received > maxBytes) return { tooLarge: true };
    chunks.push(chunk);
  }
  return { tooLarge: false, bytes: Buffer.concat(chunks, received) };
}
