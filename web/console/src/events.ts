import { useEffect, useRef, useState } from "preact/hooks";

/**
 * The live updates: one EventSource on `/console/api/events` (server-sent events from
 * the `sb:activity` channel) shared by every page. Pages subscribe to event types; the
 * app shows a banner while the stream is down. A stream the server refused (closed: 401,
 * 503 over the stream limit, server gone) is opened again after {@link RETRY_MS}.
 */
export type StreamState = "connecting" | "open" | "down";
export type EventType = "agent" | "message" | "dead_letters";

export interface ActivityEvent {
  type: EventType;
  data: Record<string, unknown>;
}

const EVENT_TYPES: readonly EventType[] = ["agent", "message", "dead_letters"];
/** How long to wait before opening a stream the server closed. @defaultValue 5000 */
const RETRY_MS = 5_000;

type Listener = (event: ActivityEvent) => void;

class ActivityStream {
  #source: EventSource | undefined;
  #retry: ReturnType<typeof setTimeout> | undefined;
  #state: StreamState = "connecting";
  readonly #listeners = new Set<Listener>();
  readonly #stateListeners = new Set<(state: StreamState) => void>();

  get state(): StreamState {
    return this.#state;
  }

  open(): void {
    this.close();
    this.#set("connecting");
    const source = new EventSource("/console/api/events", { withCredentials: true });
    this.#source = source;
    source.onopen = () => this.#set("open");
    source.onerror = () => {
      this.#set("down");
      if (source.readyState === EventSource.CLOSED) {
        this.#retry = setTimeout(() => this.open(), RETRY_MS);
      }
    };
    for (const type of EVENT_TYPES) {
      source.addEventListener(type, (event: MessageEvent<string>) => {
        let data: Record<string, unknown> = {};
        try {
          data = JSON.parse(event.data) as Record<string, unknown>;
        } catch {
          // An event without JSON data still says something happened.
        }
        for (const listener of this.#listeners) listener({ type, data });
      });
    }
  }

  close(): void {
    clearTimeout(this.#retry);
    this.#source?.close();
    this.#source = undefined;
  }

  subscribe(listener: Listener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  watch(listener: (state: StreamState) => void): () => void {
    this.#stateListeners.add(listener);
    return () => this.#stateListeners.delete(listener);
  }

  #set(state: StreamState): void {
    if (state === this.#state) return;
    this.#state = state;
    for (const listener of this.#stateListeners) listener(state);
  }
}

export const activity = new ActivityStream();

/** The stream's state, re-rendering on change. */
export function useStreamState(): StreamState {
  const [state, setState] = useState(activity.state);
  useEffect(() => activity.watch(setState), []);
  return state;
}

/** Calls `handler` for each event of the given types while the component is mounted. */
export function useActivity(types: readonly EventType[], handler: Listener): void {
  const latest = useRef(handler);
  latest.current = handler;
  const key = types.join(",");
  useEffect(
    () =>
      activity.subscribe((event) => {
        if (key.split(",").includes(event.type)) latest.current(event);
      }),
    [key],
  );
}
