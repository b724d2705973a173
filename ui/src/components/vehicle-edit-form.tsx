import { type FormEvent, useState } from "react";
import { ApiError, api, type Vehicle, type VehicleStatus } from "../api.ts";

interface Conflict {
  message: string;
  currentVersion: number | undefined;
}

/**
 * Name, plate and status, saved with the optimistic-locking PATCH: If-Match carries the version
 * this form was opened on, so someone else's edit in between answers 409 instead of being
 * silently overwritten; the conflict says so and offers to load theirs or keep mine.
 */
export function VehicleEditForm(props: {
  vehicle: Vehicle;
  canEdit: boolean;
  onSaved: (v: Vehicle) => void;
}) {
  const [base, setBase] = useState(props.vehicle);
  const [name, setName] = useState(base.name ?? "");
  const [plate, setPlate] = useState(base.plate ?? "");
  const [status, setStatus] = useState<VehicleStatus>(base.status);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | undefined>();
  const [conflict, setConflict] = useState<Conflict | undefined>();
  const [saved, setSaved] = useState(false);

  const save = async (version: number) => {
    setBusy(true);
    setError(undefined);
    setSaved(false);
    try {
      const v = await api.patchVehicle(base.id, version, {
        name: name.trim() || null,
        plate: plate.trim() || null,
        status,
      });
      setBase(v);
      setConflict(undefined);
      setSaved(true);
      props.onSaved(v);
    } catch (err) {
      if (err instanceof ApiError && err.status === 409) {
        const current = err.body.currentVersion;
        setConflict({
          message: err.message,
          currentVersion: typeof current === "number" ? current : undefined,
        });
      } else setError(err instanceof Error ? err.message : String(err));
    } finally {
      setBusy(false);
    }
  };

  const loadTheirs = async () => {
    const v = await api.vehicle(base.id);
    setBase(v);
    setName(v.name ?? "");
    setPlate(v.plate ?? "");
    setStatus(v.status);
    setConflict(undefined);
    props.onSaved(v);
  };

  const submit = (e: FormEvent) => {
    e.preventDefault();
    void save(base.version);
  };

  return (
    <form className="edit-form" onSubmit={submit} aria-label="edit vehicle">
      <fieldset disabled={!props.canEdit || busy}>
        <label>
          Name
          <input name="name" value={name} onChange={(e) => setName(e.target.value)} maxLength={200} />
        </label>
        <label>
          Plate
          <input name="plate" value={plate} onChange={(e) => setPlate(e.target.value)} maxLength={32} />
        </label>
        <label>
          Status
          <select name="status" value={status} onChange={(e) => setStatus(e.target.value as VehicleStatus)}>
            <option value="active">active</option>
            <option value="inactive">inactive</option>
            <option value="maintenance">maintenance</option>
          </select>
        </label>
        <button type="submit">Save</button>
      </fieldset>
      {!props.canEdit && <p className="muted">Viewers cannot edit vehicles.</p>}
      {saved && <p className="ok">Saved: now version {base.version}.</p>}
      {error && (
        <p className="error" role="alert">
          {error}
        </p>
      )}
      {conflict && (
        <div className="conflict" role="alert" data-testid="edit-conflict">
          <strong>Conflict: someone else changed this vehicle.</strong>
          <p>
            You edited version {base.version}
            {conflict.currentVersion !== undefined && `; it is now at version ${conflict.currentVersion}`}.
            Nothing was saved.
          </p>
          <div className="row">
            <button type="button" onClick={() => void loadTheirs()}>
              Load their version
            </button>
            {conflict.currentVersion !== undefined && (
              <button type="button" onClick={() => void save(conflict.currentVersion as number)}>
                Overwrite with mine
              </button>
            )}
          </div>
        </div>
      )}
    </form>
  );
}
