import { useCallback, useEffect, useState } from "react";
import { ApiError, api, type Session, setUnauthorizedHandler } from "../api.ts";
import { FleetApp } from "./fleet-app.tsx";
import { LoginPage } from "./login-page.tsx";

/** Who is logged in decides the page: the session lives in an HttpOnly cookie, asked for with /me. */
export function App() {
  // undefined while asking the API, null when logged out
  const [session, setSession] = useState<Session | null | undefined>(undefined);
  const [error, setError] = useState<string | undefined>();

  // a session the server ended (revoked, disabled, logged out elsewhere): said on the login page
  const lost = useCallback(() => {
    setSession(null);
    setError("Your session has ended (it was revoked or logged out elsewhere). Log in again.");
  }, []);

  useEffect(() => {
    setUnauthorizedHandler(lost);
    api
      .session()
      .then(setSession)
      .catch((err: unknown) => {
        setSession(null);
        if (!(err instanceof ApiError && err.status === 401)) setError(String(err));
      });
  }, [lost]);

  const logout = useCallback(async () => {
    await api.logout().catch(() => {});
    setError(undefined);
    setSession(null);
  }, []);

  if (session === undefined) return <div className="splash">Loading…</div>;
  if (session === null) return <LoginPage onLoggedIn={setSession} initialError={error} />;
  return <FleetApp session={session} onLogout={logout} onAuthLost={lost} />;
}
