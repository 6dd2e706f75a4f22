import { useState } from "preact/hooks";
import { describe, post } from "../api.js";
import { href } from "../route.js";
import type { PostResult } from "../views.js";

/**
 * A post as an overseer (`human:<name>`): into a thread, or to agents by name. The server
 * sends it through the same path as `send_message`, with the same checks.
 */
export function PostForm(props: {
  operator: string;
  threadId?: string;
  to?: string;
  legend: string;
}) {
  const [as, setAs] = useState(props.operator);
  const [to, setTo] = useState(props.to ?? "");
  const [subject, setSubject] = useState("");
  const [body, setBody] = useState("");
  const [result, setResult] = useState<PostResult | undefined>(undefined);
  const [error, setError] = useState<string | undefined>(undefined);
  const [busy, setBusy] = useState(false);
  const inThread = props.threadId !== undefined;

  const submit = (event: Event) => {
    event.preventDefault();
    const names = to
      .split(/[\s,]+/)
      .map((name) => name.trim())
      .filter((name) => name !== "");
    const request: Record<string, unknown> = { as: as.trim(), body };
    if (names.length > 0) request.to = names;
    if (inThread) request.thread_id = props.threadId;
    if (subject.trim() !== "") request.subject = subject.trim();
    setBusy(true);
    setError(undefined);
    post<PostResult>("/console/api/posts", request).then(
      (sent) => {
        setResult(sent);
        setBody("");
        setBusy(false);
      },
      (failure: unknown) => {
        setError(describe(failure));
        setResult(undefined);
        setBusy(false);
      },
    );
  };

  const idPrefix = inThread ? "thread-post" : "compose";
  return (
    <form class="post" onSubmit={submit}>
      <fieldset>
        <legend>{props.legend}</legend>
        <label for={`${idPrefix}-as`}>As (agents see human:{as || "name"})</label>
        <input
          id={`${idPrefix}-as`}
          required
          pattern="[A-Za-z0-9][A-Za-z0-9._-]{0,63}"
          value={as}
          onInput={(e) => setAs(e.currentTarget.value)}
        />
        <label for={`${idPrefix}-to`}>
          To (agent names, separated by commas{inThread ? "; empty: the thread's participants" : ""}
          )
        </label>
        <input
          id={`${idPrefix}-to`}
          required={!inThread}
          value={to}
          onInput={(e) => setTo(e.currentTarget.value)}
        />
        {inThread ? null : (
          <>
            <label for={`${idPrefix}-subject`}>Subject (optional)</label>
            <input
              id={`${idPrefix}-subject`}
              value={subject}
              onInput={(e) => setSubject(e.currentTarget.value)}
            />
          </>
        )}
        <label for={`${idPrefix}-body`}>Message</label>
        <textarea
          id={`${idPrefix}-body`}
          required
          rows={4}
          value={body}
          onInput={(e) => setBody(e.currentTarget.value)}
        />
        <button type="submit" disabled={busy}>
          Send
        </button>
      </fieldset>
      <div aria-live="polite">
        {result === undefined ? null : (
          <p class="success" role="status">
            Sent message <a href={href("messages", result.message_id)}>{result.message_id}</a> (
            {result.status}) in <a href={href("threads", result.thread_id)}>its thread</a>.
          </p>
        )}
      </div>
      {error === undefined ? null : (
        <p class="failure" role="alert">
          Not sent: {error}
        </p>
      )}
    </form>
  );
}
