import { useState } from "preact/hooks";
import { describe, post, type Session } from "../api.js";

/** The login form: the operator token (`switchboard console token`) for a session cookie. */
export function Login(props: { ended: boolean; onLogin: (session: Session) => void }) {
  const [token, setToken] = useState("");
  const [name, setName] = useState("");
  const [error, setError] = useState<string | undefined>(undefined);
  const [busy, setBusy] = useState(false);

  const submit = (event: Event) => {
    event.preventDefault();
    setBusy(true);
    setError(undefined);
    const body =
      name.trim() === "" ? { token: token.trim() } : { token: token.trim(), name: name.trim() };
    post<Session>("/console/login", body).then(
      (session) => props.onLogin(session),
      (failure: unknown) => {
        setError(describe(failure));
        setBusy(false);
      },
    );
  };

  return (
    <main id="main" class="login">
      <h1>Switchboard console</h1>
      {props.ended ? (
        <p class="notice" role="status">
          Your session ended, log in again.
        </p>
      ) : null}
      <form onSubmit={submit} aria-describedby="login-help">
        <p id="login-help">
          Log in with the operator token that <code>switchboard console token</code> prints.
        </p>
        <label for="login-token">Operator token</label>
        <input
          id="login-token"
          name="token"
          type="password"
          autocomplete="current-password"
          required
          value={token}
          onInput={(e) => setToken(e.currentTarget.value)}
        />
        <label for="login-name">Your name (agents see your posts as from human:name)</label>
        <input
          id="login-name"
          name="name"
          autocomplete="username"
          pattern="[A-Za-z0-9][A-Za-z0-9._-]{0,63}"
          value={name}
          onInput={(e) => setName(e.currentTarget.value)}
        />
        <button type="submit" disabled={busy}>
          Log in
        </button>
        {error === undefined ? null : (
          <p class="failure" role="alert">
            Login refused: {error}
          </p>
        )}
      </form>
    </main>
  );
}
