import { useLoad } from "../load.js";
import { href } from "../route.js";
import { Badge, Body, Failure, Loading, Page, When } from "../ui.js";
import { targetText, type MessageDetail } from "../views.js";

/** One message: its envelope, each recipient's status, the status history, its trace. */
export function MessageDetails(props: { id: string }) {
  const { data, error, loading } = useLoad<MessageDetail>(
    `/console/api/messages/${encodeURIComponent(props.id)}`,
    ["message"],
  );
  const message = data?.message;
  return (
    <Page title={`Message ${props.id}`}>
      <Failure error={error} />
      <Loading loading={loading && data === undefined} />
      {message === undefined || data === undefined ? null : (
        <>
          <section aria-labelledby="envelope">
            <h2 id="envelope">Envelope</h2>
            <dl class="envelope">
              <dt>From</dt>
              <dd>{message.from}</dd>
              <dt>To</dt>
              <dd>{targetText(message.to)}</dd>
              <dt>Subject</dt>
              <dd>{message.subject ?? "—"}</dd>
              <dt>Type</dt>
              <dd>{message.type}</dd>
              <dt>Thread</dt>
              <dd>
                <a href={href("threads", message.thread_id)}>{message.thread_id}</a> (seq{" "}
                {message.seq ?? "—"})
              </dd>
              <dt>Reply to</dt>
              <dd>
                {message.reply_to === undefined ? (
                  "—"
                ) : (
                  <a href={href("messages", message.reply_to)}>{message.reply_to}</a>
                )}
              </dd>
              <dt>Created</dt>
              <dd>
                <When at={message.created_at} />
              </dd>
              <dt>Expires</dt>
              <dd>
                <When at={message.expires_at ?? null} />
              </dd>
              <dt>Status</dt>
              <dd>
                <Badge status={message.status?.status} /> {message.status?.summary ?? ""}
              </dd>
              <dt>Trace id</dt>
              <dd>
                {data.trace_id === null ? (
                  "—"
                ) : data.trace_url === null ? (
                  <code>{data.trace_id}</code>
                ) : (
                  <a href={data.trace_url} rel="noreferrer noopener">
                    <code>{data.trace_id}</code> (open the trace)
                  </a>
                )}
              </dd>
            </dl>
            <h3>Body</h3>
            <Body body={message.body} />
          </section>
          <section aria-labelledby="recipients">
            <h2 id="recipients">Recipients</h2>
            <table>
              <thead>
                <tr>
                  <th scope="col">Agent</th>
                  <th scope="col">Status</th>
                  <th scope="col">In words</th>
                </tr>
              </thead>
              <tbody>
                {Object.entries(message.recipients ?? {}).map(([name, state]) => (
                  <tr key={name}>
                    <th scope="row">{name}</th>
                    <td>
                      <Badge status={state.status} />
                    </td>
                    <td>{state.summary ?? ""}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </section>
          <section aria-labelledby="history">
            <h2 id="history">Status history</h2>
            <ol class="history">
              {data.history.map((step, i) => (
                <li key={i}>
                  <When at={step.at} /> <Badge status={step.status} />
                  {step.agent === undefined ? "" : ` for ${step.agent}`}
                </li>
              ))}
            </ol>
          </section>
        </>
      )}
    </Page>
  );
}
