import { type FormEvent, useState } from "react";
import { accessApi } from "../access-api.ts";
import { adminApi, type Role } from "../admin-api.ts";
import { dateTime } from "../format.ts";
import { useAdminList } from "../use-admin-list.ts";
import { CopyValue } from "./copy-value.tsx";
import { ErrorLine } from "./error-line.tsx";
import { GroupChecks } from "./group-checks.tsx";

/** How long a new token lives; a token that never expires is a deliberate choice, last. */
const EXPIRIES = [
  ["1", "1 day"],
  ["7", "7 days"],
  ["30", "30 days"],
  ["90", "90 days"],
  ["365", "1 year"],
  ["never", "never"],
] as const;

/**
 * API tokens for scripts: create with a name, a role and an expiry (the value shown once), list
 * (never the values) with each expiry, revoke. Past its expiry the API refuses a token.
 */
export function PeopleTokens() {
  const { items: tokens, error, act } = useAdminList(adminApi.tokens);
  const [created, setCreated] = useState<{ name: string; token: string } | undefined>();
  const [name, setName] = useState("");
  const [role, setRole] = useState<Role>("viewer");
  const [expiry, setExpiry] = useState<string>("90");
  const { items: groups } = useAdminList(accessApi.groups);
  // none ticked: the whole fleet
  const [groupIds, setGroupIds] = useState<number[]>([]);

  const create = (e: FormEvent) => {
    e.preventDefault();
    void act(async () => {
      const t = await adminApi.addToken({
        name: name.trim(),
        role,
        ...(groupIds.length > 0 ? { groupIds } : {}),
        ...(expiry === "never"
          ? {}
          : { expiresAt: new Date(Date.now() + Number(expiry) * 86_400_000).toISOString() }),
      });
      setCreated({ name: t.name, token: t.token });
      setName("");
      setGroupIds([]);
    });
  };

  return (
    <section className="card" aria-label="API tokens" data-testid="people-tokens">
      <h3>API tokens</h3>
      <table className="table">
        <thead>
          <tr>
            <th>Name</th>
            <th>Role</th>
            <th>Created</th>
            <th>Expires</th>
            <th />
          </tr>
        </thead>
        <tbody>
          {tokens.map((t) => (
            <tr key={t.id} data-testid="token-row">
              <td>{t.name}</td>
              <td>
                {t.role}
                {t.role !== "admin" && !t.allVehicles && (
                  <span className="muted" data-testid="token-groups">
                    {" "}
                    ·{" "}
                    {groups
                      .filter((g) => t.groupIds.includes(g.id))
                      .map((g) => g.name)
                      .join(", ") || "no group"}
                  </span>
                )}
              </td>
              <td>{dateTime(t.createdAt)}</td>
              <td data-testid="token-expiry">
                {t.expiresAt === null ? "never" : dateTime(t.expiresAt)}
                {t.expiresAt !== null && Date.parse(t.expiresAt) <= Date.now() && " (expired)"}
              </td>
              <td>
                {t.revokedAt ? (
                  <span className="muted">revoked {dateTime(t.revokedAt)}</span>
                ) : (
                  <button
                    type="button"
                    className="link danger"
                    aria-label={`revoke token ${t.name}`}
                    onClick={() => void act(() => adminApi.revokeToken(t.id))}
                  >
                    Revoke
                  </button>
                )}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      {created && (
        <div role="status">
          <CopyValue label={`Token ${created.name} (shown once)`} value={created.token} testId="new-token" />
          <p className="muted">Scripts send it as Authorization: Bearer &lt;token&gt;.</p>
        </div>
      )}
      <ErrorLine error={error} />
      <form onSubmit={create} aria-label="create a token" className="row">
        <label>
          Token name
          <input value={name} onChange={(e) => setName(e.target.value)} required maxLength={100} />
        </label>
        <label>
          Token role
          <select value={role} onChange={(e) => setRole(e.target.value as Role)}>
            <option value="viewer">viewer</option>
            <option value="operator">operator</option>
            <option value="admin">admin</option>
          </select>
        </label>
        <label>
          Expires after
          <select value={expiry} onChange={(e) => setExpiry(e.target.value)}>
            {EXPIRIES.map(([v, label]) => (
              <option key={v} value={v}>
                {label}
              </option>
            ))}
          </select>
        </label>
        {role !== "admin" && groups.length > 0 && (
          <GroupChecks
            legend="Limit to groups (none ticked: the whole fleet)"
            groups={groups}
            value={groupIds}
            onChange={setGroupIds}
          />
        )}
        <button type="submit">Create token</button>
      </form>
    </section>
  );
}
