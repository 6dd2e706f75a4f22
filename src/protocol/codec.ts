import { deflateRawSync, inflateRawSync } from "node:zlib";
import { describeIssues, firstIssuePath } from "./issues.js";
import { EnvelopeSchema, type Envelope } from "./envelope.js";
import { SwitchboardError } from "./errors.js";

export type Encoding = "json" | "deflate";

export interface CodecLimits {
  /** Envelopes whose JSON is longer than this are compressed. @defaultValue 8192 */
  compressAboveBytes: number;
  /** The most bytes an entry may hold as stored (compressed or not). @defaultValue 262144 */
  maxEncodedBytes: number;
  /** The most bytes an envelope may have as JSON, after decompression. @defaultValue 1048576 */
  maxDecodedBytes: number;
}

export const DEFAULT_CODEC_LIMITS: CodecLimits = Object.freeze({
  compressAboveBytes: 8192,
  maxEncodedBytes: 262_144,
  maxDecodedBytes: 1_048_576,
});

export interface EncodedEnvelope {
  enc: Encoding;
  data: Buffer;
}

export function encodeEnvelope(
  envelope: Envelope,
  limits: CodecLimits = DEFAULT_CODEC_LIMITS,
): EncodedEnvelope {
  const json = Buffer.from(JSON.stringify(envelope), "utf8");
  if (json.length > limits.maxDecodedBytes) {
    throw new SwitchboardError(
      "TOO_LARGE",
      `message is ${json.length} bytes as JSON, over the limit of ${limits.maxDecodedBytes}; send a smaller body or a link to the data`,
      { field: "body" },
    );
  }
  const encoded: EncodedEnvelope =
    json.length > limits.compressAboveBytes
      ? { enc: "deflate", data: deflateRawSync(json) }
      : { enc: "json", data: json };
  if (encoded.data.length > limits.maxEncodedBytes) {
    throw new SwitchboardError(
      "TOO_LARGE",
      `message is ${encoded.data.length} bytes stored, over the limit of ${limits.maxEncodedBytes}; send a smaller body`,
      { field: "body" },
    );
  }
  return encoded;
}

/** Parses stored bytes to JSON, refusing oversize input and decompression bombs. */
export function decodeJson(
  enc: string,
  data: Buffer,
  limits: CodecLimits = DEFAULT_CODEC_LIMITS,
): unknown {
  if (data.length > limits.maxEncodedBytes) {
    throw new SwitchboardError(
      "TOO_LARGE",
      `entry is ${data.length} bytes stored, over the limit of ${limits.maxEncodedBytes}`,
      { field: "body" },
    );
  }
  let json: Buffer;
  if (enc === "json") {
    json = data;
  } else if (enc === "deflate") {
    try {
      json = inflateRawSync(data, { maxOutputLength: limits.maxDecodedBytes });
    } catch (error) {
      const bomb = (error as NodeJS.ErrnoException).code === "ERR_BUFFER_TOO_LARGE";
      throw new SwitchboardError(
        bomb ? "TOO_LARGE" : "MALFORMED_ENTRY",
        bomb
          ? `entry inflates past the limit of ${limits.maxDecodedBytes} bytes; refused as a possible decompression bomb`
          : `entry is marked deflate but does not inflate: ${(error as Error).message}`,
        { field: "body", cause: error },
      );
    }
  } else {
    throw new SwitchboardError(
      "MALFORMED_ENTRY",
      `entry has unknown encoding '${enc}'; expected 'json' or 'deflate'`,
      { field: "enc" },
    );
  }
  if (json.length > limits.maxDecodedBytes) {
    throw new SwitchboardError(
      "TOO_LARGE",
      `entry is ${json.length} bytes as JSON, over the limit of ${limits.maxDecodedBytes}`,
      { field: "body" },
    );
  }
  try {
    return JSON.parse(json.toString("utf8")) as unknown;
  } catch (error) {
    throw new SwitchboardError(
      "MALFORMED_ENTRY",
      `entry is not valid JSON: ${(error as Error).message}`,
      {
        cause: error,
      },
    );
  }
}

/** Validates a parsed value as an envelope; the error names every wrong field. */
export function parseEnvelope(value: unknown): Envelope {
  const result = EnvelopeSchema.safeParse(value);
  if (!result.success) {
    throw new SwitchboardError(
      "INVALID_INPUT",
      `invalid envelope: ${describeIssues(result.error)}`,
      {
        field: firstIssuePath(result.error),
      },
    );
  }
  return result.data;
}

export function decodeEnvelope(
  enc: string,
  data: Buffer,
  limits: CodecLimits = DEFAULT_CODEC_LIMITS,
): Envelope {
  return parseEnvelope(decodeJson(enc, data, limits));
}
