import { type FormEvent, useCallback, useEffect, useState } from "react";
import { accessApi, type Group } from "../access-api.ts";
import { adminApi, errorText, type UserRow } from "../admin-api.ts";
import type { Vehicle } from "../api.ts";
import { ErrorLine } from "./error-line.tsx";

/**
 * One group's vehicles (add by id, remove) and the users who see it. Ticking a user who sees
 * the whole fleet limits them to their groups: from then on they see this group's vehicles only
 * (and those of any other group they are in). Admins always see everything: they are not listed.
 */
export function GroupMembers(props: { group: Group; vehicles: Vehicle[]; onChanged: () => Promise<void> }) {
  const { group } = props;
  const [members, setMembers] = useState<string[]>([]);
  const [users, setUsers] = useState<UserRow[]>([]);
  const [vehicleId, setVehicleId] = useState("");
  const [error, setError] = useState<string | undefined>();
  // the ticks being saved, as they will be: shown at once and not clickable until saved
  const [pending, setPending] = useState<Record<string, boolean>>({});

  const load = useCallback(async () => {
    const [g, u] = await Promise.all([accessApi.group(group.id), adminApi.users()]);
    setMembers(g.vehicleIds);
    setUsers(u.filter((x) => x.role !== "admin"));
  }, [group.id]);
  useEffect(() => {
    load().catch((err: unknown) => setError(errorText(err)));
  }, [load]);

  const act = async (what: () => Promise<unknown>) => {
    setError(undefined);
    try {
      await what();
    } catch (err) {
      setError(errorText(err));
    }
    await Promise.all([load(), props.onChanged()]).catch(() => {});
  };

  const add = (e: FormEvent) => {
    e.preventDefault();
    void act(async () => {
      await accessApi.addMembers(group.id, [vehicleId.trim()]);
      setVehicleId("");
    });
  };
  const sees = (u: UserRow) => !u.allVehicles && u.groupIds.includes(group.id);
  const save = async (u: UserRow, tick: boolean, grant: { allVehicles: boolean; groupIds: number[] }) => {
    setPending((p) => ({ ...p, [u.username]: tick }));
    await act(() => accessApi.setUserAccess(u.username, grant));
    setPending(({ [u.username]: _, ...rest }) => rest);
  };
  const toggle = (u: UserRow) => {
    const groupIds = sees(u) ? u.groupIds.filter((g) => g !== group.id) : [...u.groupIds, group.id];
    // a user limited to no group sees nothing: refused here, "Whole fleet" is the way back
    if (groupIds.length === 0) {
      setError(
        `${group.name} is the only group ${u.username} sees: unticking it would leave them no vehicle. Add them to another group first, or give them the whole fleet.`,
      );
      return;
    }
    void save(u, !sees(u), { allVehicles: false, groupIds });
  };
  const groupsText = (n: number) => `${n} ${n === 1 ? "group" : "groups"}`;

  return (
    <section className="card" aria-label={`group ${group.name}`} data-testid="group-members">
      <h3>{group.name}</h3>
      <h4>Vehicles</h4>
      {members.length === 0 && <p className="muted">No vehicles in this group yet.</p>}
      <ul className="list">
        {members.map((id) => (
          <li key={id} className="row" data-testid="group-vehicle">
            <span>{id}</span>
            <button
              type="button"
              className="link danger"
              aria-label={`remove ${id} from ${group.name}`}
              onClick={() => void act(() => accessApi.removeMember(group.id, id))}
            >
              Remove
            </button>
          </li>
        ))}
      </ul>
      <form onSubmit={add} aria-label="add a vehicle to the group" className="row">
        <label>
          Vehicle to add
          <input
            value={vehicleId}
            onChange={(e) => setVehicleId(e.target.value)}
            list="group-vehicle-ids"
            required
            autoComplete="off"
          />
        </label>
        <datalist id="group-vehicle-ids">
          {props.vehicles
            .filter((v) => !members.includes(v.id))
            .slice(0, 500)
            .map((v) => (
              <option key={v.id} value={v.id}>
                {v.name ?? ""}
              </option>
            ))}
        </datalist>
        <button type="submit">Add to group</button>
      </form>
      <h4>Who sees it</h4>
      <p className="muted">Admins see every vehicle. A ticked user sees only the vehicles of their groups.</p>
      <ul className="list">
        {users.map((u) => (
          <li key={u.id} data-testid="group-user" data-username={u.username}>
            <label>
              <input
                type="checkbox"
                aria-label={`${u.username} sees ${group.name}`}
                checked={pending[u.username] ?? sees(u)}
                disabled={u.username in pending}
                onChange={() => toggle(u)}
              />{" "}
              {u.username} ({u.role}
              {u.allVehicles ? ", sees every vehicle" : `, ${groupsText(u.groupIds.length)}`})
            </label>
            {!u.allVehicles && (
              <button
                type="button"
                className="link"
                disabled={u.username in pending}
                onClick={() => void save(u, false, { allVehicles: true, groupIds: u.groupIds })}
              >
                Whole fleet for {u.username}
              </button>
            )}
          </li>
        ))}
      </ul>
      <ErrorLine error={error} />
    </section>
  );
}
