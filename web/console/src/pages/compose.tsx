import { useLoad } from "../load.js";
import { Page } from "../ui.js";
import type { Agent } from "../views.js";
import { PostForm } from "./post-form.js";

/** A new message from an overseer to any agents; the registered names are offered. */
export function Compose(props: { operator: string; to: string | null }) {
  const { data } = useLoad<{ agents: Agent[] }>("/console/api/agents", ["agent"]);
  return (
    <Page title="Compose">
      <p class="muted">
        Registered agents: {(data?.agents ?? []).map((agent) => agent.name).join(", ") || "—"}
      </p>
      <PostForm operator={props.operator} to={props.to ?? ""} legend="Send a message to agents" />
    </Page>
  );
}
