import { useLoad } from "../load.js";
import { DataView, Failure, Loading, Page } from "../ui.js";

/** One stage of one partition, as `switchboard status --json` reports it. */
interface StageStatus {
  length: number;
  lag: number | null;
  pending: number;
  consumers: number;
  workers: number;
  oldest_pending_ms: number | null;
}

interface PartitionStatus {
  partition: number;
  stages: Record<string, StageStatus>;
  dead_letters: { length: number };
}

interface PipelineStatus {
  partitions: PartitionStatus[];
  retry_queues: Record<string, Record<string, number>>;
  breakers: unknown[];
  nodes?: unknown[];
}

const count = (value: number | null): string => (value === null ? "—" : String(value));

/** Per stage and partition: length, lag, pending, consumers; the retry queues; the breakers. */
export function Pipeline() {
  const { data, error, loading, reload } = useLoad<PipelineStatus>("/console/api/pipeline", [
    "message",
    "dead_letters",
  ]);
  const queues = Object.entries(data?.retry_queues ?? {});
  const states = [...new Set(queues.flatMap(([, counts]) => Object.keys(counts)))];
  return (
    <Page
      title="Pipeline"
      actions={
        <button type="button" onClick={reload}>
          Refresh
        </button>
      }
    >
      <p class="muted">As switchboard status: updated as messages move.</p>
      <Failure error={error} />
      <Loading loading={loading && data === undefined} />
      {data === undefined ? null : (
        <div aria-live="polite">
          <div class="table-wrap">
            <table>
              <caption>Stages by partition</caption>
              <thead>
                <tr>
                  <th scope="col">Partition</th>
                  <th scope="col">Stage</th>
                  <th scope="col">Length</th>
                  <th scope="col">Lag</th>
                  <th scope="col">Pending</th>
                  <th scope="col">Oldest pending, ms</th>
                  <th scope="col">Consumers</th>
                  <th scope="col">Workers</th>
                </tr>
              </thead>
              <tbody>
                {data.partitions.flatMap((part) => [
                  ...Object.entries(part.stages).map(([stage, s]) => (
                    <tr key={`${part.partition}-${stage}`}>
                      <td class="number">{part.partition}</td>
                      <th scope="row">{stage}</th>
                      <td class="number">{s.length}</td>
                      <td class="number">{count(s.lag)}</td>
                      <td class="number">{s.pending}</td>
                      <td class="number">{count(s.oldest_pending_ms)}</td>
                      <td class="number">{s.consumers}</td>
                      <td class="number">{s.workers}</td>
                    </tr>
                  )),
                  <tr key={`${part.partition}-dead`}>
                    <td class="number">{part.partition}</td>
                    <th scope="row">dead letters</th>
                    <td class="number">{part.dead_letters.length}</td>
                    <td colSpan={5} />
                  </tr>,
                ])}
              </tbody>
            </table>
          </div>
          <div class="table-wrap">
            <table>
              <caption>Retry queues: jobs by state</caption>
              <thead>
                <tr>
                  <th scope="col">Queue</th>
                  {states.map((state) => (
                    <th scope="col" key={state}>
                      {state}
                    </th>
                  ))}
                </tr>
              </thead>
              <tbody>
                {queues.map(([name, counts]) => (
                  <tr key={name}>
                    <th scope="row">{name}</th>
                    {states.map((state) => (
                      <td class="number" key={state}>
                        {counts[state] ?? 0}
                      </td>
                    ))}
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
          <h2>Webhook circuit breakers</h2>
          <DataView value={data.breakers} />
          {data.nodes === undefined ? null : (
            <>
              <h2>Redis Cluster masters</h2>
              <DataView value={data.nodes} />
            </>
          )}
        </div>
      )}
    </Page>
  );
}
