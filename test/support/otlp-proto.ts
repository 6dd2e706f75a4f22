import type { OtlpAttribute, OtlpRequest, OtlpSpan, OtlpValue } from "./otlp.js";

/**
 * A decoder of OTLP/HTTP protobuf trace requests (`ExportTraceServiceRequest` of
 * opentelemetry-proto's collector/trace/v1), written from the .proto field numbers, not
 * from the exporter's serializer: what a Collector would read. It gives the shape of the
 * JSON protocol (ids in hex, 64-bit integers as numbers), so one receiver reads both.
 */

interface WireField {
  number: number;
  /** varint (0) or fixed32/fixed64 as a number; length-delimited (2) as bytes. */
  value: bigint | Buffer;
}

/** The fields of one message, in order; throws on a truncated or malformed one. */
function fieldsOf(bytes: Buffer): WireField[] {
  const fields: WireField[] = [];
  let at = 0;
  const varint = (): bigint => {
    let result = 0n;
    for (let shift = 0n; ; shift += 7n) {
      if (at >= bytes.length || shift > 63n) throw new Error("malformed varint");
      const byte = bytes[at++]!;
      result |= BigInt(byte & 0x7f) << shift;
      if ((byte & 0x80) === 0) return result;
    }
  };
  const take = (length: number): Buffer => {
    if (at + length > bytes.length) throw new Error("truncated field");
    at += length;
    return bytes.subarray(at - length, at);
  };
  while (at < bytes.length) {
    const tag = Number(varint());
    const [number, wire] = [tag >>> 3, tag & 7];
    if (wire === 0) fields.push({ number, value: varint() });
    else if (wire === 1) fields.push({ number, value: take(8).readBigUInt64LE() });
    else if (wire === 2) fields.push({ number, value: take(Number(varint())) });
    else if (wire === 5) fields.push({ number, value: BigInt(take(4).readUInt32LE()) });
    else throw new Error(`wire type ${wire} of field ${number} is not used by OTLP`);
  }
  return fields;
}

const bytesOf = (field: WireField) => {
  if (!Buffer.isBuffer(field.value)) throw new Error(`field ${field.number} is not bytes`);
  return field.value;
};
const numberOf = (field: WireField) => {
  if (Buffer.isBuffer(field.value)) throw new Error(`field ${field.number} is not a number`);
  return field.value;
};
const all = (fields: WireField[], number: number) => fields.filter((f) => f.number === number);
const one = (fields: WireField[], number: number) => fields.findLast((f) => f.number === number);
const text = (field: WireField | undefined) =>
  field === undefined ? undefined : bytesOf(field).toString("utf8");
const hex = (field: WireField | undefined) =>
  field === undefined ? "" : bytesOf(field).toString("hex");

/** AnyValue: 1 string, 2 bool, 3 int64, 4 double, 5 array, 6 kvlist, 7 bytes. */
function anyValue(bytes: Buffer): OtlpValue {
  const field = fieldsOf(bytes).at(-1);
  if (field === undefined) return {};
  switch (field.number) {
    case 1:
      return { stringValue: text(field)! };
    case 2:
      return { boolValue: numberOf(field) !== 0n };
    case 3:
      return { intValue: Number(BigInt.asIntN(64, numberOf(field))) };
    case 4: {
      const double = Buffer.alloc(8);
      double.writeBigUInt64LE(numberOf(field));
      return { doubleValue: double.readDoubleLE() };
    }
    default:
      return { stringValue: `(field ${field.number})` };
  }
}

/** KeyValue: 1 key, 2 value. */
function attributes(fields: WireField[], number: number): OtlpAttribute[] {
  return all(fields, number).map((f) => {
    const kv = fieldsOf(bytesOf(f));
    const value = one(kv, 2);
    return { key: text(one(kv, 1)) ?? "", value: value ? anyValue(bytesOf(value)) : {} };
  });
}

/** Span: 1 trace_id, 2 span_id, 4 parent_span_id, 5 name, 6 kind, 9 attributes, 13 links, 15 status. */
function span(bytes: Buffer): OtlpSpan {
  const fields = fieldsOf(bytes);
  const kind = one(fields, 6);
  const status = one(fields, 15);
  const statusFields = status === undefined ? [] : fieldsOf(bytesOf(status));
  const code = one(statusFields, 3);
  return {
    traceId: hex(one(fields, 1)),
    spanId: hex(one(fields, 2)),
    parentSpanId: hex(one(fields, 4)),
    name: text(one(fields, 5)) ?? "",
    kind: kind === undefined ? 0 : Number(numberOf(kind)),
    attributes: attributes(fields, 9),
    // Link: 1 trace_id, 2 span_id.
    links: all(fields, 13).map((link) => {
      const lf = fieldsOf(bytesOf(link));
      return { traceId: hex(one(lf, 1)), spanId: hex(one(lf, 2)) };
    }),
    status: {
      code: code === undefined ? 0 : Number(numberOf(code)),
      message: text(one(statusFields, 2)),
    },
  };
}

/**
 * An `ExportTraceServiceRequest`: 1 resource_spans (ResourceSpans: 1 resource with
 * 1 attributes, 2 scope_spans (ScopeSpans: 2 spans)).
 */
export function decodeTraceRequest(body: Buffer): OtlpRequest {
  return {
    resourceSpans: all(fieldsOf(body), 1).map((rs) => {
      const fields = fieldsOf(bytesOf(rs));
      const resource = one(fields, 1);
      return {
        resource: {
          attributes: resource === undefined ? [] : attributes(fieldsOf(bytesOf(resource)), 1),
        },
        scopeSpans: all(fields, 2).map((ss) => ({
          spans: all(fieldsOf(bytesOf(ss)), 2).map((s) => span(bytesOf(s))),
        })),
      };
    }),
  };
}
