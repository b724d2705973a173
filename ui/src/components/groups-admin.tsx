import "./admin.css";
import { type FormEvent, useState } from "react";
import { accessApi, type Group } from "../access-api.ts";
import type { Vehicle } from "../api.ts";
import { useAdminList } from "../use-admin-list.ts";
import { ErrorLine } from "./error-line.tsx";
import { GroupMembers } from "./group-members.tsx";

type Pending = { kind: "rename" | "delete"; group: Group } | undefined;

/**
 * Vehicle groups (admins): create, rename, delete, and per group its vehicles and the users
 * limited to it (group-members.tsx). A user limited to groups sees only their vehicles, on the
 * map, in /ws, exports and every API route.
 */
export function GroupsAdmin(props: { vehicles: Vehicle[] }) {
  const { items: groups, error, act, reload } = useAdminList(accessApi.groups);
  const [name, setName] = useState("");
  const [openId, setOpenId] = useState<number | undefined>();
  const [pending, setPending] = useState<Pending>();
  const [newName, setNewName] = useState("");

  const create = (e: FormEvent) => {
    e.preventDefault();
    void act(async () => {
      const g = await accessApi.addGroup(name.trim());
      setName("");
      setOpenId(g.id);
    });
  };
  const confirm = () =>
    act(async () => {
      if (!pending) return;
      if (pending.kind === "rename") await accessApi.renameGroup(pending.group.id, newName.trim());
      else {
        await accessApi.removeGroup(pending.group.id);
        if (openId === pending.group.id) setOpenId(undefined);
      }
      setPending(undefined);
    });
  const open = groups.find((g) => g.id === openId);

  return (
    <div className="people" data-testid="groups-admin">
      <section className="card" aria-label="vehicle groups">
        <h3>Vehicle groups</h3>
        {groups.length === 0 && <p className="muted">No groups yet: every user sees the whole fleet.</p>}
        <table className="table">
          <tbody>
            {groups.map((g) => (
              <tr key={g.id} data-testid="group-row" data-group={g.name}>
                <td>
                  <button
                    type="button"
                    className={`link${g.id === openId ? " selected" : ""}`}
                    aria-pressed={g.id === openId}
                    onClick={() => setOpenId(g.id)}
                  >
                    {g.name}
                  </button>
                </td>
                <td>
                  {g.vehicles} vehicle{g.vehicles === 1 ? "" : "s"}
                </td>
                <td className="actions">
                  <button
                    type="button"
                    className="link"
                    aria-label={`rename group ${g.name}`}
                    onClick={() => {
                      setNewName(g.name);
                      setPending({ kind: "rename", group: g });
                    }}
                  >
                    Rename
                  </button>{" "}
                  <button
                    type="button"
                    className="link danger"
                    aria-label={`delete group ${g.name}`}
                    onClick={() => setPending({ kind: "delete", group: g })}
                  >
                    Delete
                  </button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
        {pending && (
          <div className="confirm" role="alertdialog" aria-label={`${pending.kind} group`}>
            {pending.kind === "rename" ? (
              <label>
                New name of {pending.group.name}
                <input value={newName} onChange={(e) => setNewName(e.target.value)} maxLength={100} />
              </label>
            ) : (
              <p>
                Delete {pending.group.name}? Its {pending.group.vehicles} vehicle(s) stay; users limited to it
                no longer see them.
              </p>
            )}
            <div className="row">
              <button
                type="button"
                className={pending.kind === "delete" ? "danger" : ""}
                disabled={pending.kind === "rename" && newName.trim() === ""}
                onClick={() => void confirm()}
              >
                {pending.kind === "rename" ? "Save name" : "Delete group"}
              </button>
              <button type="button" onClick={() => setPending(undefined)}>
                Cancel
              </button>
            </div>
          </div>
        )}
        <ErrorLine error={error} />
        <form onSubmit={create} aria-label="create a group" className="row">
          <label>
            Group name
            <input value={name} onChange={(e) => setName(e.target.value)} required maxLength={100} />
          </label>
          <button type="submit">Create group</button>
        </form>
      </section>
      {open && <GroupMembers key={open.id} group={open} vehicles={props.vehicles} onChanged={reload} />}
    </div>
  );
}
