import { type FormEvent, useState } from "react";
import { adminApi } from "../admin-api.ts";
import { dateTime } from "../format.ts";
import { useAdminList } from "../use-admin-list.ts";
import { CopyValue } from "./copy-value.tsx";
import { ErrorLine } from "./error-line.tsx";

/** Integration accounts (MQTT clients that may subscribe to fleet/#): create (password once), revoke. */
export function PeopleIntegrations() {
  const { items: list, error, act } = useAdminList(adminApi.integrations);
  const [created, setCreated] = useState<{ username: string; password: string } | undefined>();
  const [name, setName] = useState("");

  const create = (e: FormEvent) => {
    e.preventDefault();
    void act(async () => {
      setCreated(await adminApi.addIntegration(name.trim()));
      setName("");
    });
  };

  return (
    <section className="card" aria-label="integration accounts" data-testid="people-integrations">
      <h3>Integration accounts (MQTT)</h3>
      <ul className="list">
        {list.map((i) => (
          <li key={i.name} className="row" data-testid="integration-row">
            <span className="item-main">
              {i.name} <span className="muted">since {dateTime(i.createdAt)}</span>
            </span>
            <button
              type="button"
              className="link danger"
              aria-label={`revoke integration ${i.name}`}
              onClick={() => void act(() => adminApi.removeIntegration(i.name))}
            >
              Revoke
            </button>
          </li>
        ))}
        {list.length === 0 && <li className="muted">None.</li>}
      </ul>
      {created && (
        <div role="status">
          <CopyValue label="MQTT username" value={created.username} />
          <CopyValue
            label="MQTT password (shown once)"
            value={created.password}
            testId="integration-password"
          />
        </div>
      )}
      <ErrorLine error={error} />
      <form onSubmit={create} aria-label="create an integration account" className="row">
        <label>
          Integration name
          <input value={name} onChange={(e) => setName(e.target.value)} required maxLength={64} />
        </label>
        <button type="submit">Create</button>
      </form>
    </section>
  );
}
