import { render } from "preact";
import { useEffect, useState } from "preact/hooks";
import { get, onSessionEnded, post, useCsrf, type Session } from "./api.js";
import { activity, useStreamState, type StreamState } from "./events.js";
import { Agents } from "./pages/agents.js";
import { Compose } from "./pages/compose.js";
import { DeadLetterDetails, DeadLetters } from "./pages/dead-letters.js";
import { Login } from "./pages/login.js";
import { MessageDetails } from "./pages/message.js";
import { Pipeline } from "./pages/pipeline.js";
import { Errors, Leases, Notes } from "./pages/reports.js";
import { Thread } from "./pages/thread.js";
import { Threads } from "./pages/threads.js";
import { href, NAV, useRoute, type Route } from "./route.js";
import "./styles.css";

/** The page a route names; an unknown one says so. */
function Content(props: { route: Route; session: Session }) {
  const { page, id, params } = props.route;
  const operator = props.session.operator;
  switch (page) {
    case "agents":
      return <Agents />;
    case "threads":
      return id === undefined ? <Threads /> : <Thread key={id} id={id} operator={operator} />;
    case "messages":
      if (id !== undefined) return <MessageDetails key={id} id={id} />;
      break;
    case "dead-letters":
      return id === undefined ? <DeadLetters /> : <DeadLetterDetails key={id} id={id} />;
    case "pipeline":
      return <Pipeline />;
    case "errors":
      return <Errors />;
    case "leases":
      return <Leases />;
    case "notes":
      return <Notes />;
    case "compose":
      return <Compose operator={operator} to={params.get("to")} />;
  }
  return (
    <section>
      <h1>No such page</h1>
      <p>
        There is no page <code>#/{page}</code>. <a href={href("agents")}>Go to the agents</a>.
      </p>
    </section>
  );
}

/** A banner while the live event stream is down or refused. */
function StreamBanner(props: { state: StreamState }) {
  const { state } = props;
  return (
    <div
      role="status"
      aria-live="assertive"
      class={state === "down" ? "banner" : "visually-hidden"}
    >
      {state === "down"
        ? "Live updates are down: the event stream was closed or refused. Retrying; pages may be out of date."
        : ""}
    </div>
  );
}

function Shell(props: { session: Session; onLogout: () => void }) {
  const route = useRoute();
  const stream = useStreamState();
  useEffect(() => {
    activity.open();
    return () => activity.close();
  }, []);
  // A stream refused may be a session that ended: asking says so (a 401 shows the login).
  useEffect(() => {
    if (stream === "down") get<Session>("/console/api/session").catch(() => undefined);
  }, [stream]);
  const logout = () => {
    post("/console/logout", {}).then(props.onLogout, props.onLogout);
  };
  return (
    <>
      <a
        class="skip"
        href="#main"
        onClick={(e) => {
          e.preventDefault();
          document.getElementById("main")?.focus();
        }}
      >
        Skip to content
      </a>
      <header class="top">
        <span class="brand">Switchboard</span>
        <nav aria-label="Console">
          <ul>
            {NAV.map((item) => (
              <li key={item.page}>
                <a
                  href={href(item.page)}
                  aria-current={route.page === item.page ? "page" : undefined}
                >
                  {item.label}
                </a>
              </li>
            ))}
          </ul>
        </nav>
        <span class="who">
          {props.session.operator}{" "}
          <button type="button" onClick={logout}>
            Log out
          </button>
        </span>
      </header>
      <StreamBanner state={stream} />
      <main id="main" tabIndex={-1}>
        <Content route={route} session={props.session} />
      </main>
    </>
  );
}

type State =
  { kind: "checking" } | { kind: "out"; ended: boolean } | { kind: "in"; session: Session };

/**
 * Whether this browser was logged in (a flag, never the token or the session): a 401 on
 * opening the console then means the session ended, and the login form says so.
 */
const WAS_IN = "switchboard-console-was-in";

function App() {
  const [state, setState] = useState<State>({ kind: "checking" });
  const enter = (session: Session) => {
    useCsrf(session.csrf);
    localStorage.setItem(WAS_IN, "1");
    setState({ kind: "in", session });
  };
  const leave = (ended: boolean) => {
    activity.close();
    if (!ended) localStorage.removeItem(WAS_IN);
    setState({ kind: "out", ended });
  };
  useEffect(() => {
    onSessionEnded(() => leave(localStorage.getItem(WAS_IN) !== null));
    get<Session>("/console/api/session").then(enter, () => undefined);
  }, []);
  switch (state.kind) {
    case "checking":
      return (
        <main id="main">
          <p role="status">Loading the console…</p>
        </main>
      );
    case "out":
      return <Login ended={state.ended} onLogin={enter} />;
    case "in":
      return <Shell session={state.session} onLogout={() => leave(false)} />;
  }
}

const root = document.getElementById("app");
if (root !== null) render(<App />, root);
