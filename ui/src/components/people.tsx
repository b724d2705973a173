import "./admin.css";
import { useState } from "react";
import { adminApi, errorText } from "../admin-api.ts";
import type { Session } from "../api.ts";
import { ErrorLine } from "./error-line.tsx";
import { PeopleIntegrations } from "./people-integrations.tsx";
import { PeopleTokens } from "./people-tokens.tsx";
import { PeopleUsers } from "./people-users.tsx";

/**
 * People and access (admins): users, API tokens, integration accounts. Every revocation takes
 * effect at the other side's next request (its sessions and live sockets end on the server).
 */
export function People(props: { session: Session; onLoggedOut: () => void }) {
  const [error, setError] = useState<string | undefined>();
  const logoutEverywhere = async () => {
    setError(undefined);
    try {
      await adminApi.logoutEverywhere();
      props.onLoggedOut();
    } catch (err) {
      setError(errorText(err));
    }
  };
  return (
    <div className="people" data-testid="people">
      <PeopleUsers self={props.session.name} />
      <PeopleTokens />
      <PeopleIntegrations />
      <section className="card" aria-label="your sessions">
        <h3>Your sessions</h3>
        <p className="muted">
          Ends every session of {props.session.name}, in every browser, this one included.
        </p>
        <button type="button" onClick={() => void logoutEverywhere()}>
          Log out everywhere
        </button>
        <ErrorLine error={error} />
      </section>
    </div>
  );
}
