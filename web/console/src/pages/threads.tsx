import { query } from "../api.js";
import { useLoad } from "../load.js";
import { href } from "../route.js";
import { Failure, Loading, Page, When } from "../ui.js";
import type { ThreadSummary } from "../views.js";

/** The threads with the newest activity first, live. */
export function Threads() {
  const { data, error, loading } = useLoad<{ threads: ThreadSummary[] }>(
    `/console/api/threads${query({ limit: 50 })}`,
    ["message"],
  );
  const threads = data?.threads ?? [];
  return (
    <Page title="Threads">
      <Failure error={error} />
      <Loading loading={loading && data === undefined} />
      <div class="table-wrap" aria-live="polite">
        <table>
          <caption>The 50 threads with the newest activity, newest first</caption>
          <thead>
            <tr>
              <th scope="col">Subject</th>
              <th scope="col">Participants</th>
              <th scope="col">Messages</th>
              <th scope="col">Last activity</th>
            </tr>
          </thead>
          <tbody>
            {threads.map((thread) => (
              <tr key={thread.thread_id}>
                <th scope="row">
                  <a href={href("threads", thread.thread_id)}>
                    {thread.subject ?? `(no subject) ${thread.thread_id}`}
                  </a>
                </th>
                <td>{(thread.participants ?? []).join(", ")}</td>
                <td class="number">{thread.messages ?? thread.last_seq ?? "—"}</td>
                <td>
                  <When at={thread.last_at} />
                </td>
              </tr>
            ))}
          </tbody>
        </table>
        {threads.length === 0 && data !== undefined ? <p class="muted">No threads yet.</p> : null}
      </div>
    </Page>
  );
}
