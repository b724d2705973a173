import { type FormEvent, useEffect, useState } from "react";
import { accessApi, type Group } from "../access-api.ts";
import { adminApi, errorText, type VehicleSecret } from "../admin-api.ts";
import type { Vehicle } from "../api.ts";
import { ErrorLine } from "./error-line.tsx";
import { GroupChecks } from "./group-checks.tsx";
import { VehicleSecretPanel } from "./vehicle-secret.tsx";

/**
 * Adds a vehicle, into the groups ticked (an operator limited to groups must name one of theirs,
 * or could not see it); the answer's secret and connection settings are shown once, then forgotten.
 */
export function VehicleAddForm(props: { onAdded: (v: Vehicle) => void; onClose: () => void }) {
  const [id, setId] = useState("");
  const [name, setName] = useState("");
  const [plate, setPlate] = useState("");
  const [imei, setImei] = useState("");
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | undefined>();
  const [secret, setSecret] = useState<VehicleSecret | undefined>();
  const [groups, setGroups] = useState<Group[]>([]);
  const [groupIds, setGroupIds] = useState<number[]>([]);

  useEffect(() => {
    accessApi
      .groups()
      .then(setGroups)
      .catch(() => setGroups([]));
  }, []);

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setBusy(true);
    setError(undefined);
    try {
      const opt = (s: string) => (s.trim() === "" ? undefined : s.trim());
      const { credentials, mqtt, connections, ...vehicle } = await adminApi.addVehicle({
        id: id.trim(),
        name: opt(name),
        plate: opt(plate),
        imei: opt(imei),
        ...(groupIds.length > 0 ? { groupIds } : {}),
      });
      setSecret({ credentials, mqtt, connections });
      props.onAdded(vehicle);
    } catch (err) {
      setError(errorText(err));
    } finally {
      setBusy(false);
    }
  };

  if (secret) return <VehicleSecretPanel secret={secret} onDone={props.onClose} />;
  return (
    <form className="card" onSubmit={submit} aria-label="add a vehicle">
      <h3>Add a vehicle</h3>
      <label>
        Vehicle id
        <input
          value={id}
          onChange={(e) => setId(e.target.value)}
          required
          aria-describedby="vehicle-id-help"
        />
      </label>
      <p id="vehicle-id-help" className="muted">
        Letters, digits, _ and -: the device's MQTT username and topic name.
      </p>
      <label>
        Name
        <input value={name} onChange={(e) => setName(e.target.value)} maxLength={200} />
      </label>
      <label>
        Plate
        <input value={plate} onChange={(e) => setPlate(e.target.value)} maxLength={32} />
      </label>
      <label>
        IMEI (Teltonika devices)
        <input value={imei} onChange={(e) => setImei(e.target.value)} inputMode="numeric" />
      </label>
      {groups.length > 0 && (
        <GroupChecks legend="Groups" groups={groups} value={groupIds} onChange={setGroupIds} />
      )}
      <ErrorLine error={error} />
      <div className="row">
        <button type="submit" disabled={busy}>
          {busy ? "Adding…" : "Add vehicle"}
        </button>
        <button type="button" onClick={props.onClose}>
          Cancel
        </button>
      </div>
    </form>
  );
}
