import { useLoad } from "../load.js";
import { href } from "../route.js";
import { Badge, Failure, Loading, Page, When } from "../ui.js";
import type { Agent } from "../views.js";

/** Every registered agent, live: status, capabilities, inbox backlog, last seen. */
export function Agents() {
  const { data, error, loading } = useLoad<{ agents: Agent[] }>("/console/api/agents", [
    "agent",
    "message",
  ]);
  const agents = data?.agents ?? [];
  return (
    <Page title="Agents">
      <Failure error={error} />
      <Loading loading={loading && data === undefined} />
      <div class="table-wrap" aria-live="polite" aria-busy={loading}>
        <table>
          <caption>{agents.length} agents; updated live as they register, come and go</caption>
          <thead>
            <tr>
              <th scope="col">Name</th>
              <th scope="col">Status</th>
              <th scope="col">Capabilities</th>
              <th scope="col">Backlog</th>
              <th scope="col">Last seen</th>
              <th scope="col">
                <span class="visually-hidden">Actions</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {agents.map((agent) => (
              <tr key={agent.name} data-agent={agent.name}>
                <th scope="row">{agent.name}</th>
                <td>
                  <Badge status={agent.status} />
                </td>
                <td>{agent.capabilities.length === 0 ? "—" : agent.capabilities.join(", ")}</td>
                <td class="number">{agent.backlog ?? "—"}</td>
                <td>
                  <When at={agent.last_seen} />
                </td>
                <td>
                  <a href={`${href("compose")}?to=${encodeURIComponent(agent.name)}`}>
                    Message {agent.name}
                  </a>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </Page>
  );
}
