import { Component } from "preact";
import { useCallback, useEffect, useRef, useState } from "preact/hooks";
import { describe, get, query } from "../api.js";
import { useActivity } from "../events.js";
import { href } from "../route.js";
import { Badge, Body, Failure, Page, When } from "../ui.js";
import type { Message, MessageDetail, ThreadPage } from "../views.js";
import { PostForm } from "./post-form.js";

/** Messages read per request; a 10,000-message thread is read a page at a time. */
const PAGE = 100;
/** How long live events are gathered before the thread is brought up to date. */
const SETTLE_MS = 200;

const bySeq = (a: Message, b: Message): number => (a.seq ?? 0) - (b.seq ?? 0);

/**
 * One thread in `seq` order with each recipient's status, live: a new message is added
 * when the last page is shown (else counted, for "Load more"), and a message whose status
 * changed is read again.
 */
export function Thread(props: { id: string; operator: string }) {
  const { id } = props;
  const [messages, setMessages] = useState<Message[]>([]);
  const [next, setNext] = useState<number | null | undefined>(undefined);
  const [unseen, setUnseen] = useState(0);
  const [error, setError] = useState<string | undefined>(undefined);
  const [busy, setBusy] = useState(false);
  // The latest state for the event handlers, and one chain so reads never overlap.
  const state = useRef({ messages, next });
  state.current = { messages, next };
  const chain = useRef<Promise<void>>(Promise.resolve());
  const stale = useRef(new Set<string>());
  const tail = useRef(false);
  const timer = useRef<ReturnType<typeof setTimeout> | undefined>(undefined);

  const read = useCallback(
    (after: number | undefined) =>
      get<ThreadPage>(
        `/console/api/threads/${encodeURIComponent(id)}${query({ after, limit: PAGE })}`,
      ),
    [id],
  );

  const merge = (page: Message[]) =>
    setMessages((shown) => {
      const byId = new Map(shown.map((m) => [m.message_id, m]));
      for (const m of page) byId.set(m.message_id, m);
      return [...byId.values()].sort(bySeq);
    });

  const run = (task: () => Promise<void>) => {
    chain.current = chain.current
      .then(task)
      .catch((failure: unknown) => setError(describe(failure)));
  };

  useEffect(() => {
    setMessages([]);
    setNext(undefined);
    setUnseen(0);
    setError(undefined);
    run(async () => {
      const page = await read(undefined);
      setMessages(page.messages);
      setNext(page.next_after);
    });
    return () => clearTimeout(timer.current);
  }, [read]);

  const loadMore = () => {
    setBusy(true);
    run(async () => {
      const after = state.current.next;
      if (after !== null && after !== undefined) {
        const page = await read(after);
        merge(page.messages);
        setNext(page.next_after);
        if (page.next_after === null) setUnseen(0);
      }
      setBusy(false);
    });
  };

  /** Reads the messages that changed and, at the end of the thread, the new ones. */
  const catchUp = () =>
    run(async () => {
      const ids = [...stale.current];
      stale.current.clear();
      const changed = await Promise.all(
        ids.map((mid) =>
          get<MessageDetail>(`/console/api/messages/${encodeURIComponent(mid)}`).then(
            (detail) => detail.message,
          ),
        ),
      );
      merge(changed);
      if (tail.current) {
        tail.current = false;
        const last = state.current.messages.at(-1)?.seq;
        const page = await read(last);
        merge(page.messages);
        setNext(page.next_after);
      }
    });

  useActivity(["message"], (event) => {
    if (event.data.thread_id !== id || typeof event.data.message_id !== "string") return;
    const mid = event.data.message_id;
    const { messages: shown, next: after } = state.current;
    if (shown.some((m) => m.message_id === mid)) stale.current.add(mid);
    else if (after === null) tail.current = true;
    else {
      setUnseen((n) => n + 1);
      return;
    }
    if (timer.current !== undefined) return;
    timer.current = setTimeout(() => {
      timer.current = undefined;
      catchUp();
    }, SETTLE_MS);
  });

  const subject = messages.find((m) => m.subject !== undefined)?.subject;
  return (
    <Page title={subject === undefined ? `Thread ${id}` : `Thread: ${subject}`}>
      <p class="muted">
        Thread id <code>{id}</code>; {messages.length} messages shown, oldest first.
      </p>
      <Failure error={error} />
      <ol class="messages" aria-live="polite" aria-relevant="additions" aria-label="Messages">
        {messages.map((message) => (
          <MessageItem key={message.message_id} message={message} />
        ))}
      </ol>
      {next === undefined ? (
        <p role="status" class="muted">
          Loading…
        </p>
      ) : next === null ? null : (
        <p>
          <button type="button" onClick={loadMore} disabled={busy}>
            Load more (next {PAGE}){unseen > 0 ? `, ${unseen} new since` : ""}
          </button>
        </p>
      )}
      <PostForm operator={props.operator} threadId={id} legend="Post into this thread" />
    </Page>
  );
}

/** One message; drawn again only when its view changes (thousands may be on the page). */
class MessageItem extends Component<{ message: Message }> {
  override shouldComponentUpdate(next: { message: Message }): boolean {
    return next.message !== this.props.message;
  }

  override render() {
    const { message } = this.props;
    const recipients = Object.entries(message.recipients ?? {});
    return (
      <li class="message" data-message={message.message_id}>
        <article aria-labelledby={`m-${message.message_id}`}>
          <header>
            <span class="seq">#{message.seq ?? "?"}</span>{" "}
            <strong id={`m-${message.message_id}`}>{message.from}</strong>{" "}
            {message.subject === undefined ? null : <span>— {message.subject} </span>}
            <When at={message.created_at} />{" "}
            <a href={href("messages", message.message_id)}>
              details<span class="visually-hidden"> of message {message.seq ?? ""}</span>
            </a>
          </header>
          <Body body={message.body} />
          {recipients.length === 0 ? null : (
            <ul class="recipients" aria-label="Recipients">
              {recipients.map(([name, state]) => (
                <li key={name}>
                  {name}: <Badge status={state.status} />
                </li>
              ))}
            </ul>
          )}
        </article>
      </li>
    );
  }
}
