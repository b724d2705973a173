import { type FormEvent, useCallback, useEffect, useState } from "react";
import { adminApi, errorText, type IntegrationRow } from "../admin-api.ts";
import { dateTime } from "../format.ts";
import { CopyValue } from "./copy-value.tsx";

/** Integration accounts (MQTT clients that may subscribe to fleet/#): create (password once), revoke. */
export function PeopleIntegrations() {
  const [list, setList] = useState<IntegrationRow[]>([]);
  const [error, setError] = useState<string | undefined>();
  const [created, setCreated] = useState<{ username: string; password: string } | undefined>();
  const [name, setName] = useState("");

  const load = useCallback(async () => {
    try {
      setList(await adminApi.integrations());
    } catch (err) {
      setError(errorText(err));
    }
  }, []);
  useEffect(() => {
    void load();
  }, [load]);

  const act = async (what: () => Promise<void>) => {
    setError(undefined);
    try {
      await what();
    } catch (err) {
      setError(errorText(err));
    }
    await load();
  };

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
      {error && (
        <p className="error" role="alert">
          {error}
        </p>
      )}
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
