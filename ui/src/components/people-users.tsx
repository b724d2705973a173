import { type FormEvent, useState } from "react";
import { accessApi } from "../access-api.ts";
import { adminApi, type Role, type UserRow } from "../admin-api.ts";
import { useAdminList } from "../use-admin-list.ts";
import { CopyValue } from "./copy-value.tsx";
import { ErrorLine } from "./error-line.tsx";

type Pending = { kind: "remove" | "reset" | "disable"; username: string } | undefined;
const QUESTION = {
  remove: (u: string) => `Remove ${u}? Their sessions end and they can no longer log in.`,
  reset: (u: string) => `Give ${u} a new generated password? Their sessions end.`,
  disable: (u: string) => `Disable ${u}? Their sessions end and their logins are refused until enabled.`,
};
const CONFIRM = { remove: "Remove user", reset: "Reset password", disable: "Disable user" };

/** Users: add (a password typed or generated, shown once), disable/enable, reset password, remove. */
export function PeopleUsers(props: { self: string }) {
  const { items: users, error, act } = useAdminList(adminApi.users);
  const { items: groups } = useAdminList(accessApi.groups);
  const sees = (u: UserRow) => {
    if (u.role === "admin" || u.allVehicles) return "whole fleet";
    const names = groups.filter((g) => u.groupIds.includes(g.id)).map((g) => g.name);
    return names.length === 0 ? "no vehicle (no group)" : names.join(", ");
  };
  const [notice, setNotice] = useState<{ text: string; password?: string } | undefined>();
  const [pending, setPending] = useState<Pending>();
  const [username, setUsername] = useState("");
  const [role, setRole] = useState<Role>("viewer");
  const [password, setPassword] = useState("");

  const run = (what: () => Promise<{ text: string; password?: string }>) =>
    act(async () => {
      setNotice(undefined);
      setNotice(await what());
      setPending(undefined);
    });

  const add = (e: FormEvent) => {
    e.preventDefault();
    void run(async () => {
      const u = await adminApi.addUser({
        username: username.trim(),
        role,
        ...(password ? { password } : {}),
      });
      setUsername("");
      setPassword("");
      return {
        text: `${u.username} added.`,
        ...(u.password ? { password: u.password } : {}),
      };
    });
  };

  return (
    <section className="card" aria-label="users" data-testid="people-users">
      <h3>Users</h3>
      <table className="table">
        <thead>
          <tr>
            <th>User</th>
            <th>Role</th>
            <th>Sees</th>
            <th>State</th>
            <th>Actions</th>
          </tr>
        </thead>
        <tbody>
          {users.map((u) => (
            <tr key={u.id} data-testid="user-row" data-username={u.username}>
              <td>
                {u.username}
                {u.username === props.self && <span className="muted"> (you)</span>}
              </td>
              <td>{u.role}</td>
              <td data-testid="user-sees">{sees(u)}</td>
              <td>{u.disabled ? "disabled" : `${u.sessions} session${u.sessions === 1 ? "" : "s"}`}</td>
              <td className="actions">
                <button
                  type="button"
                  className="link"
                  aria-label={`${u.disabled ? "enable" : "disable"} ${u.username}`}
                  onClick={() =>
                    u.disabled
                      ? void run(async () => {
                          await adminApi.setUserDisabled(u.username, false);
                          return { text: `${u.username} enabled.` };
                        })
                      : setPending({ kind: "disable", username: u.username })
                  }
                >
                  {u.disabled ? "Enable" : "Disable"}
                </button>
                <button
                  type="button"
                  className="link"
                  aria-label={`reset the password of ${u.username}`}
                  onClick={() => setPending({ kind: "reset", username: u.username })}
                >
                  Reset password
                </button>
                <button
                  type="button"
                  className="link"
                  aria-label={`log ${u.username} out everywhere`}
                  onClick={() =>
                    void run(async () => {
                      const r = await adminApi.logoutUser(u.username);
                      return {
                        text: `${u.username}: ${r.sessions} ${r.sessions === 1 ? "session" : "sessions"} ended.`,
                      };
                    })
                  }
                >
                  Log out
                </button>
                <button
                  type="button"
                  className="link danger"
                  aria-label={`remove ${u.username}`}
                  onClick={() => setPending({ kind: "remove", username: u.username })}
                >
                  Remove
                </button>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      {pending && (
        <div className="confirm" role="alertdialog" aria-label="confirm">
          <p>
            {QUESTION[pending.kind](pending.username)}
            {pending.username === props.self && " This is you."}
          </p>
          <div className="row">
            <button
              type="button"
              onClick={() =>
                void run(async () => {
                  if (pending.kind === "disable") {
                    await adminApi.setUserDisabled(pending.username, true);
                    return { text: `${pending.username} disabled: logged out everywhere.` };
                  }
                  if (pending.kind === "remove") {
                    await adminApi.removeUser(pending.username);
                    return { text: `${pending.username} removed.` };
                  }
                  const r = await adminApi.resetPassword(pending.username);
                  return {
                    text: `New password for ${pending.username}:`,
                    ...(r.password ? { password: r.password } : {}),
                  };
                })
              }
            >
              {CONFIRM[pending.kind]}
            </button>
            <button type="button" onClick={() => setPending(undefined)}>
              Cancel
            </button>
          </div>
        </div>
      )}
      {notice && (
        <div role="status" className="ok">
          {notice.text}
          {notice.password && (
            <CopyValue label="Password (shown once)" value={notice.password} testId="user-password" />
          )}
        </div>
      )}
      <ErrorLine error={error} />
      <form onSubmit={add} aria-label="add a user">
        <h3>Add a user</h3>
        <label>
          Username
          <input value={username} onChange={(e) => setUsername(e.target.value)} required autoComplete="off" />
        </label>
        <label>
          Role
          <select value={role} onChange={(e) => setRole(e.target.value as Role)}>
            <option value="viewer">viewer (reads)</option>
            <option value="operator">operator (vehicles, geofences, rules, commands)</option>
            <option value="admin">admin (everything)</option>
          </select>
        </label>
        <label>
          Password (empty: generate one)
          <input
            type="password"
            value={password}
            onChange={(e) => setPassword(e.target.value)}
            autoComplete="new-password"
          />
        </label>
        <button type="submit">Add user</button>
      </form>
    </section>
  );
}
