/**
 * The console's calls to `/console/api/*`: JSON in and out, the session's CSRF token on
 * every POST, RFC 9457 problem documents turned into {@link ApiError}. A 401 anywhere
 * means the session is gone: {@link onSessionEnded} hears it and shows the login form.
 */

export interface Session {
  operator: string;
  csrf: string;
  expires_at: string;
}

/** A problem document from the server, or a network failure (status 0). */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly field?: string,
    readonly hint?: string,
  ) {
    super(message);
    this.name = "ApiError";
  }
}

let csrf = "";
let sessionEnded: () => void = () => undefined;

/** Remembers the CSRF token of the session (from login or GET session). */
export function useCsrf(token: string): void {
  csrf = token;
}

/** Who to tell when a call answers 401 (the session expired or was never there). */
export function onSessionEnded(listener: () => void): void {
  sessionEnded = listener;
}

interface Problem {
  title?: string;
  detail?: string;
  code?: string;
  field?: string;
  hint?: string;
}

async function problemOf(response: Response): Promise<ApiError> {
  const text = await response.text();
  let problem: Problem;
  try {
    problem = JSON.parse(text) as Problem;
  } catch {
    problem = { detail: text.slice(0, 300) };
  }
  const message = problem.detail ?? problem.title ?? `${response.status} ${response.statusText}`;
  return new ApiError(
    response.status,
    problem.code ?? `HTTP_${response.status}`,
    message,
    problem.field,
    problem.hint,
  );
}

async function request<T>(method: "GET" | "POST", path: string, body?: unknown): Promise<T> {
  const headers: Record<string, string> = { accept: "application/json" };
  if (method === "POST") {
    headers["content-type"] = "application/json";
    headers["x-csrf-token"] = csrf;
  }
  let response: Response;
  try {
    response = await fetch(path, {
      method,
      headers,
      credentials: "same-origin",
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
  } catch (error) {
    throw new ApiError(
      0,
      "NETWORK",
      `the server did not answer (${String(error)}); is it running?`,
    );
  }
  if (!response.ok) {
    const error = await problemOf(response);
    if (response.status === 401 && path !== "/console/login") sessionEnded();
    throw error;
  }
  if (response.status === 204) return undefined as T;
  return (await response.json()) as T;
}

export const get = <T>(path: string): Promise<T> => request<T>("GET", path);
export const post = <T>(path: string, body: unknown): Promise<T> => request<T>("POST", path, body);

/** A query string of the given parameters, leaving out empty ones. */
export function query(params: Record<string, string | number | undefined>): string {
  const search = new URLSearchParams();
  for (const [name, value] of Object.entries(params)) {
    if (value !== undefined && value !== "") search.set(name, String(value));
  }
  const text = search.toString();
  return text === "" ? "" : `?${text}`;
}

/** The words to show for a failed call. */
export function describe(error: unknown): string {
  if (error instanceof ApiError) {
    const parts = [error.message];
    if (error.field !== undefined) parts.push(`(field ${error.field})`);
    if (error.hint !== undefined) parts.push(error.hint);
    return parts.join(" ");
  }
  return String(error);
}
