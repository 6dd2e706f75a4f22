import type { ComponentChildren } from "preact";
import { useEffect, useRef } from "preact/hooks";

/** A labelled `<select>` of `options`; `any` names a first, empty choice (no filter). */
export function Choice(props: {
  id: string;
  label: string;
  value: string;
  options: readonly string[];
  any?: string;
  onChange: (value: string) => void;
}) {
  return (
    <>
      <label for={props.id}>{props.label}</label>
      <select
        id={props.id}
        value={props.value}
        onChange={(e) => props.onChange(e.currentTarget.value)}
      >
        {props.any === undefined ? null : <option value="">{props.any}</option>}
        {props.options.map((option) => (
          <option key={option} value={option}>
            {option}
          </option>
        ))}
      </select>
    </>
  );
}

/** A page: its heading takes the focus when the route changes, for keyboard and screen readers. */
export function Page(props: {
  title: string;
  children: ComponentChildren;
  actions?: ComponentChildren;
}) {
  const heading = useRef<HTMLHeadingElement>(null);
  useEffect(() => {
    document.title = `${props.title} · Switchboard console`;
    heading.current?.focus();
  }, [props.title]);
  return (
    <section aria-labelledby="page-title">
      <div class="page-head">
        <h1 id="page-title" tabIndex={-1} ref={heading}>
          {props.title}
        </h1>
        {props.actions}
      </div>
      {props.children}
    </section>
  );
}

export function Failure(props: { error: string | undefined }) {
  if (props.error === undefined) return null;
  return (
    <p class="failure" role="alert">
      {props.error}
    </p>
  );
}

/** A status word with a colour that is never the only signal (the word is always there). */
export function Badge(props: { status: string | undefined }) {
  const status = props.status ?? "unknown";
  return <span class={`badge badge-${status.replace(/[^a-z_]/g, "")}`}>{status}</span>;
}

export function When(props: { at: string | undefined | null }) {
  if (props.at === undefined || props.at === null) return <span class="muted">never</span>;
  const date = new Date(props.at);
  if (Number.isNaN(date.getTime())) return <span>{props.at}</span>;
  return (
    <time dateTime={props.at} title={props.at}>
      {date.toLocaleString()}
    </time>
  );
}

/** A message body: text as it is, anything else as indented JSON. */
export function Body(props: { body: unknown }) {
  const text = typeof props.body === "string" ? props.body : JSON.stringify(props.body, null, 2);
  return <pre class="body">{text}</pre>;
}

export function Loading(props: { loading: boolean }) {
  return props.loading ? (
    <p class="muted" role="status">
      Loading…
    </p>
  ) : null;
}

const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === "object" && value !== null && !Array.isArray(value);

const isScalar = (value: unknown): boolean =>
  value === null || ["string", "number", "boolean", "undefined"].includes(typeof value);

function scalar(value: unknown): string {
  if (value === undefined || value === null) return "—";
  return typeof value === "string" ? value : JSON.stringify(value);
}

/** The words of a snake_case key: `next_cursor` → "next cursor". */
const words = (key: string): string => key.replace(/_/g, " ");

/**
 * A JSON report (`switchboard status --json`, `errors --json`, `leases list --json`, …)
 * shown as HTML: a list of records becomes a table with a column per field, a record a
 * definition list, nested values nest. The reports' shapes are the CLI's, so the pages
 * follow them without a copy of each type.
 */
export function DataView(props: { value: unknown; caption?: string }) {
  const { value } = props;
  if (isScalar(value)) return <span>{scalar(value)}</span>;
  if (Array.isArray(value)) {
    if (value.length === 0) return <p class="muted">none</p>;
    if (value.every(isScalar)) return <span>{value.map(scalar).join(", ")}</span>;
    const rows = value.filter(isRecord);
    const columns = [...new Set(rows.flatMap((row) => Object.keys(row)))];
    return (
      <div class="table-wrap">
        <table>
          {props.caption === undefined ? null : <caption>{props.caption}</caption>}
          <thead>
            <tr>
              {columns.map((column) => (
                <th scope="col" key={column}>
                  {words(column)}
                </th>
              ))}
            </tr>
          </thead>
          <tbody>
            {rows.map((row, i) => (
              <tr key={i}>
                {columns.map((column) => (
                  <td key={column}>
                    <DataView value={row[column]} />
                  </td>
                ))}
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    );
  }
  const record = value as Record<string, unknown>;
  /** A list of records is a table under its own heading; anything else fits a row. */
  const isTable = (v: unknown): boolean => Array.isArray(v) && !v.every(isScalar);
  const simple = Object.entries(record).filter(([, v]) => !isTable(v));
  const lists = Object.entries(record).filter(([, v]) => isTable(v));
  return (
    <div class="data">
      {simple.length === 0 ? null : (
        <dl>
          {simple.map(([key, v]) => (
            <div key={key}>
              <dt>{words(key)}</dt>
              <dd>
                <DataView value={v} />
              </dd>
            </div>
          ))}
        </dl>
      )}
      {lists.map(([key, v]) => (
        <section key={key} aria-label={words(key)}>
          <h2>{words(key)}</h2>
          <DataView value={v} />
        </section>
      ))}
    </div>
  );
}
