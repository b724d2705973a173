import { type FormEvent, useState } from "react";
import { ApiError, api, type Session } from "../api.ts";

/**
 * Username and password, or an API token (the first admin token `npm start` prints before any
 * user exists). Either is sent once in the POST body and exchanged for the HttpOnly cookie.
 */
export function LoginPage(props: { onLoggedIn: (s: Session) => void; initialError?: string | undefined }) {
  const [useToken, setUseToken] = useState(false);
  const [username, setUsername] = useState("");
  const [password, setPassword] = useState("");
  const [token, setToken] = useState("");
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState(props.initialError);

  async function submit(e: FormEvent) {
    e.preventDefault();
    setBusy(true);
    setError(undefined);
    try {
      props.onLoggedIn(await (useToken ? api.loginWithToken(token.trim()) : api.login(username, password)));
    } catch (err) {
      setError(err instanceof ApiError ? err.message : `cannot reach the server: ${String(err)}`);
    } finally {
      setBusy(false);
    }
  }

  return (
    <main className="login">
      <form className="login-form" onSubmit={submit} aria-label="log in">
        <h1>Logitrack</h1>
        {useToken ? (
          <label>
            API token
            <input
              name="token"
              type="password"
              autoComplete="off"
              value={token}
              onChange={(e) => setToken(e.target.value)}
              required
              minLength={16}
            />
          </label>
        ) : (
          <>
            <label>
              Username
              <input
                name="username"
                autoComplete="username"
                value={username}
                onChange={(e) => setUsername(e.target.value)}
                required
              />
            </label>
            <label>
              Password
              <input
                name="password"
                type="password"
                autoComplete="current-password"
                value={password}
                onChange={(e) => setPassword(e.target.value)}
                required
              />
            </label>
          </>
        )}
        {error && (
          <p className="error" role="alert">
            {error}
          </p>
        )}
        <button type="submit" disabled={busy}>
          {busy ? "Logging in…" : "Log in"}
        </button>
        <button type="button" className="link" onClick={() => setUseToken(!useToken)}>
          {useToken ? "Use a username and password" : "Use an API token instead"}
        </button>
      </form>
    </main>
  );
}
