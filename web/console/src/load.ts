import { useCallback, useEffect, useRef, useState } from "preact/hooks";
import { describe, get } from "./api.js";
import { useActivity, type EventType } from "./events.js";

export interface Loaded<T> {
  data: T | undefined;
  error: string | undefined;
  loading: boolean;
  reload: () => void;
}

/** How long live events are gathered before one reload. @defaultValue 250 */
const SETTLE_MS = 250;

/**
 * GETs `path` now and again whenever it changes; with `liveOn`, reloads (at most once per
 * {@link SETTLE_MS}) when events of those types arrive, so a burst costs one request.
 */
export function useLoad<T>(path: string, liveOn: readonly EventType[] = []): Loaded<T> {
  const [data, setData] = useState<T | undefined>(undefined);
  const [error, setError] = useState<string | undefined>(undefined);
  const [loading, setLoading] = useState(true);
  const generation = useRef(0);
  const timer = useRef<ReturnType<typeof setTimeout> | undefined>(undefined);

  const reload = useCallback(() => {
    const mine = ++generation.current;
    setLoading(true);
    get<T>(path).then(
      (value) => {
        if (mine !== generation.current) return;
        setData(value);
        setError(undefined);
        setLoading(false);
      },
      (failure: unknown) => {
        if (mine !== generation.current) return;
        setError(describe(failure));
        setLoading(false);
      },
    );
  }, [path]);

  useEffect(() => {
    reload();
    return () => clearTimeout(timer.current);
  }, [reload]);

  useActivity(liveOn, () => {
    if (timer.current !== undefined) return;
    timer.current = setTimeout(() => {
      timer.current = undefined;
      reload();
    }, SETTLE_MS);
  });

  return { data, error, loading, reload };
}
