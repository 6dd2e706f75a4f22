import { useRef, useState } from "preact/hooks";
import { describe, post, query } from "../api.js";
import { useLoad } from "../load.js";
import { href } from "../route.js";
import { Choice, DataView, Failure, Loading, Page, When } from "../ui.js";
import type { DeadLetterList } from "../views.js";

const STAGES = ["validate", "route", "deliver", "persist"];
const CATEGORIES = ["validation", "routing", "delivery", "quota", "auth", "transient", "internal"];

interface Filters {
  stage: string;
  category: string;
  code: string;
  agent: string;
  within: string;
  limit: string;
}

const NO_FILTERS: Filters = {
  stage: "",
  category: "",
  code: "",
  agent: "",
  within: "",
  limit: "20",
};

const UNIT_S: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86_400 };

/** `90s`, `10m`, `2h`, `7d` in seconds; undefined for anything else. */
function seconds(duration: string): number | undefined {
  const match = /^(\d+)\s*([smhd])$/.exec(duration.trim());
  return match === null ? undefined : Number(match[1]) * UNIT_S[match[2]!]!;
}

/** The query of `dlq_list` (the fields of `switchboard dlq list`) for the filters. */
function listQuery(filters: Filters, after: string | undefined): string {
  const { within, ...rest } = filters;
  return query({ ...rest, newer_than_seconds: seconds(within), after });
}

/** What replay and purge answer (`dlq replay --json`, `dlq purge --json`). */
type Outcome = Record<string, unknown> & { results?: unknown[] };

/** The words for a replay or purge outcome: its counts, such as "replayed 1, not found 0". */
function outcomeText(action: string, outcome: Outcome): string {
  const counts = Object.entries(outcome)
    .filter(([, value]) => typeof value === "number")
    .map(([key, value]) => `${key.replace(/_/g, " ")} ${String(value)}`);
  return `${action}: ${counts.join(", ") || "done"}`;
}

/** Replay and purge (behind a confirmation dialog) of the given dead letters. */
function Actions(props: { ids: string[]; onDone: () => void }) {
  const dialog = useRef<HTMLDialogElement>(null);
  const [said, setSaid] = useState<string | undefined>(undefined);
  const [error, setError] = useState<string | undefined>(undefined);
  const [busy, setBusy] = useState(false);
  const count = props.ids.length;

  const act = (action: "replay" | "purge") => {
    dialog.current?.close();
    setBusy(true);
    setError(undefined);
    const body = action === "purge" ? { ids: props.ids, confirm: "purge" } : { ids: props.ids };
    post<Outcome>(`/console/api/dead-letters/${action}`, body).then(
      (outcome) => {
        setSaid(outcomeText(action === "replay" ? "Replayed" : "Purged", outcome));
        setBusy(false);
        props.onDone();
      },
      (failure: unknown) => {
        setError(describe(failure));
        setBusy(false);
      },
    );
  };

  return (
    <div class="actions">
      <button type="button" disabled={busy || count === 0} onClick={() => act("replay")}>
        Replay{count > 1 ? ` ${count} dead letters` : ""}
      </button>{" "}
      <button
        type="button"
        class="danger"
        disabled={busy || count === 0}
        onClick={() => dialog.current?.showModal()}
      >
        Purge{count > 1 ? ` ${count} dead letters` : ""}…
      </button>
      <dialog ref={dialog} aria-labelledby="purge-title" aria-describedby="purge-text">
        <h2 id="purge-title">
          Purge {count === 1 ? "this dead letter" : `${count} dead letters`}?
        </h2>
        <p id="purge-text">
          A purged dead letter is deleted for good: it can no longer be shown or replayed.
        </p>
        <button type="button" class="danger" onClick={() => act("purge")}>
          Purge for good
        </button>{" "}
        <button type="button" onClick={() => dialog.current?.close()} autofocus>
          Cancel
        </button>
      </dialog>
      <p role="status" aria-live="polite" class="success">
        {said ?? ""}
      </p>
      <Failure error={error} />
    </div>
  );
}

/** The dead letters, filtered as `switchboard dlq list`, live; select some to replay or purge. */
export function DeadLetters() {
  const [draft, setDraft] = useState(NO_FILTERS);
  const [filters, setFilters] = useState(NO_FILTERS);
  const [after, setAfter] = useState<string | undefined>(undefined);
  const [invalid, setInvalid] = useState<string | undefined>(undefined);
  const [selected, setSelected] = useState<ReadonlySet<string>>(new Set());
  const { data, error, loading, reload } = useLoad<DeadLetterList>(
    `/console/api/dead-letters${listQuery(filters, after)}`,
    ["dead_letters"],
  );
  const letters = data?.dead_letters ?? [];
  const field = (name: keyof Filters) => ({
    id: `dlq-${name}`,
    value: draft[name],
    onInput: (e: { currentTarget: { value: string } }) =>
      setDraft({ ...draft, [name]: e.currentTarget.value }),
  });
  const toggle = (id: string) => {
    const next = new Set(selected);
    if (next.has(id)) next.delete(id);
    else next.add(id);
    setSelected(next);
  };

  return (
    <Page title="Dead letters">
      <form
        class="filters"
        onSubmit={(e) => {
          e.preventDefault();
          if (draft.within.trim() !== "" && seconds(draft.within) === undefined) {
            setInvalid("Within: write a duration such as 90s, 10m, 2h or 7d.");
            return;
          }
          setInvalid(undefined);
          setAfter(undefined);
          setFilters(draft);
        }}
      >
        <div>
          <Choice
            id="dlq-stage"
            label="Stage"
            value={draft.stage}
            options={STAGES}
            any="any"
            onChange={(stage) => setDraft({ ...draft, stage })}
          />
        </div>
        <div>
          <Choice
            id="dlq-category"
            label="Category"
            value={draft.category}
            options={CATEGORIES}
            any="any"
            onChange={(category) => setDraft({ ...draft, category })}
          />
        </div>
        <div>
          <label for="dlq-code">Error code</label>
          <input {...field("code")} placeholder="WEBHOOK_TIMEOUT" />
        </div>
        <div>
          <label for="dlq-agent">Agent (sender or recipient)</label>
          <input {...field("agent")} />
        </div>
        <div>
          <label for="dlq-within">Within the last (10m, 2h, 7d)</label>
          <input {...field("within")} />
        </div>
        <div>
          <label for="dlq-limit">At most</label>
          <input {...field("limit")} type="number" min={1} max={1000} />
        </div>
        <button type="submit">Filter</button>
      </form>
      <Failure error={invalid ?? error} />
      <Loading loading={loading && data === undefined} />
      <p class="muted" aria-live="polite">
        {data === undefined
          ? ""
          : `${letters.length} shown${data.depth === undefined ? "" : ` of ${data.depth} in the store`}`}
      </p>
      <div class="table-wrap">
        <table>
          <caption>Dead letters, newest first</caption>
          <thead>
            <tr>
              <th scope="col">
                <span class="visually-hidden">Select</span>
              </th>
              <th scope="col">Id</th>
              <th scope="col">At</th>
              <th scope="col">Stage</th>
              <th scope="col">Code</th>
              <th scope="col">Error</th>
              <th scope="col">From</th>
              <th scope="col">Recipient</th>
              <th scope="col">Attempts</th>
            </tr>
          </thead>
          <tbody>
            {letters.map((letter) => (
              <tr key={letter.id} data-dead-letter={letter.id}>
                <td>
                  <input
                    type="checkbox"
                    id={`select-${letter.id}`}
                    aria-label={`Select dead letter ${letter.id}`}
                    checked={selected.has(letter.id)}
                    onChange={() => toggle(letter.id)}
                  />
                </td>
                <th scope="row">
                  <a href={href("dead-letters", letter.id)}>{letter.id}</a>
                </th>
                <td>
                  <When at={letter.at} />
                </td>
                <td>{letter.stage}</td>
                <td>
                  <code>{letter.code}</code>
                </td>
                <td>{letter.error}</td>
                <td>{letter.from ?? "—"}</td>
                <td>{letter.recipient ?? "—"}</td>
                <td class="number">{letter.attempts}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      {after === undefined && data?.next_cursor == null ? null : (
        <p>
          {after === undefined ? null : (
            <button type="button" onClick={() => setAfter(undefined)}>
              Newest
            </button>
          )}{" "}
          {data?.next_cursor == null ? null : (
            <button type="button" onClick={() => setAfter(data.next_cursor ?? undefined)}>
              Older
            </button>
          )}
        </p>
      )}
      <Actions
        ids={[...selected]}
        onDone={() => {
          setSelected(new Set());
          reload();
        }}
      />
    </Page>
  );
}

/** One dead letter in full (`dlq show`), with replay and purge. */
export function DeadLetterDetails(props: { id: string }) {
  const { data, error, loading, reload } = useLoad<unknown>(
    `/console/api/dead-letters/${encodeURIComponent(props.id)}`,
  );
  return (
    <Page title={`Dead letter ${props.id}`}>
      <p>
        <a href={href("dead-letters")}>All dead letters</a>
      </p>
      <Failure error={error} />
      <Loading loading={loading && data === undefined} />
      {data === undefined ? null : <DataView value={data} />}
      <Actions ids={[props.id]} onDone={reload} />
    </Page>
  );
}
