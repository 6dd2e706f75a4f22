/** Stream entry ids (`<ms>-<seq>`) as comparable pairs. */
export interface StreamId {
  ms: bigint;
  seq: bigint;
}

export function parseStreamId(id: string): StreamId {
  const dash = id.indexOf("-");
  if (dash < 0) return { ms: BigInt(id), seq: 0n };
  return { ms: BigInt(id.slice(0, dash)), seq: BigInt(id.slice(dash + 1)) };
}

export function formatStreamId(id: StreamId): string {
  return `${id.ms}-${id.seq}`;
}

export function compareStreamIds(a: string, b: string): number {
  const x = parseStreamId(a);
  const y = parseStreamId(b);
  if (x.ms !== y.ms) return x.ms < y.ms ? -1 : 1;
  if (x.seq !== y.seq) return x.seq < y.seq ? -1 : 1;
  return 0;
}

export function minStreamId(ids: readonly string[]): string | undefined {
  return streamIdBounds(ids)?.first;
}

/** The lowest and the highest of some stream ids; undefined for none. */
export function streamIdBounds(
  ids: readonly string[],
): { first: string; last: string } | undefined {
  if (ids.length === 0) return undefined;
  let first = ids[0]!;
  let last = first;
  for (const id of ids) {
    if (compareStreamIds(id, first) < 0) first = id;
    else if (compareStreamIds(id, last) > 0) last = id;
  }
  return { first, last };
}

/** The last id a stream can hold: Redis refuses it as an exclusive start (nothing follows). */
const LAST_STREAM_ID = "18446744073709551615-18446744073709551615";

/** `(id`, the start of a range after `id`; undefined when no id can follow it. */
export function exclusiveStart(id: string): string | undefined {
  return id === LAST_STREAM_ID ? undefined : `(${id}`;
}

/** The id just after this one: the smallest id that is greater. */
export function nextStreamId(id: string): string {
  const { ms, seq } = parseStreamId(id);
  return formatStreamId({ ms, seq: seq + 1n });
}

/** The milliseconds part of an id: when Redis appended the entry. */
export function streamIdTime(id: string): number {
  return Number(parseStreamId(id).ms);
}
