import { useEffect, useState } from "preact/hooks";

/** A page of the console and its argument, from the hash (`#/threads/<id>`). */
export interface Route {
  page: string;
  id: string | undefined;
  /** After a `?` in the hash: `#/compose?to=alice`. */
  params: URLSearchParams;
}

export const NAV: readonly { page: string; label: string }[] = [
  { page: "agents", label: "Agents" },
  { page: "threads", label: "Threads" },
  { page: "dead-letters", label: "Dead letters" },
  { page: "pipeline", label: "Pipeline" },
  { page: "errors", label: "Errors" },
  { page: "leases", label: "Leases" },
  { page: "notes", label: "Notes" },
  { page: "compose", label: "Compose" },
];

export function parseRoute(hash: string): Route {
  const [path = "", search = ""] = hash.replace(/^#\/?/, "").split("?", 2);
  const [page = "", ...rest] = path.split("/");
  const id = rest.length === 0 ? undefined : decodeURIComponent(rest.join("/"));
  return { page: page === "" ? "agents" : page, id, params: new URLSearchParams(search) };
}

/** The href of a page, with its id escaped. */
export const href = (page: string, id?: string): string =>
  id === undefined ? `#/${page}` : `#/${page}/${encodeURIComponent(id)}`;

export function useRoute(): Route {
  const [route, setRoute] = useState(() => parseRoute(location.hash));
  useEffect(() => {
    const changed = () => setRoute(parseRoute(location.hash));
    addEventListener("hashchange", changed);
    return () => removeEventListener("hashchange", changed);
  }, []);
  return route;
}
