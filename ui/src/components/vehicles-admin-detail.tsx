import { useState } from "react";
import { adminApi, errorText, type VehicleSecret } from "../admin-api.ts";
import type { Vehicle } from "../api.ts";
import { ErrorLine } from "./error-line.tsx";
import { VehicleCommands } from "./vehicle-commands.tsx";
import { VehicleDiagnostics } from "./vehicle-diagnostics.tsx";
import { VehicleEditForm } from "./vehicle-edit-form.tsx";
import { VehicleSecretPanel } from "./vehicle-secret.tsx";

type Confirm = "rotate" | "remove" | undefined;

/**
 * One vehicle to manage: edit, rotate the secret (the new one shown once; the device's live
 * session ends), remove (asked first), commands, and what was rejected or odd in its messages.
 */
export function VehicleAdminDetail(props: {
  vehicle: Vehicle;
  canEdit: boolean;
  onSaved: (v: Vehicle) => void;
  onRemoved: (id: string) => void;
  onClose: () => void;
}) {
  const v = props.vehicle;
  const [confirm, setConfirm] = useState<Confirm>();
  const [secret, setSecret] = useState<VehicleSecret | undefined>();
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | undefined>();

  const act = async () => {
    setBusy(true);
    setError(undefined);
    try {
      if (confirm === "rotate") setSecret(await adminApi.rotate(v.id));
      else if (confirm === "remove") {
        await adminApi.removeVehicle(v.id);
        props.onRemoved(v.id);
      }
      setConfirm(undefined);
    } catch (err) {
      setError(errorText(err));
    } finally {
      setBusy(false);
    }
  };

  return (
    <section
      className="card details"
      aria-label={`manage vehicle ${v.id}`}
      data-testid="vehicle-admin-detail"
      onKeyDown={(e) => {
        if (e.key === "Escape") props.onClose();
      }}
    >
      <header className="row">
        <h2>{v.name ? `${v.name} (${v.id})` : v.id}</h2>
        <button type="button" className="link" onClick={props.onClose} aria-label="close vehicle">
          ✕
        </button>
      </header>
      <VehicleEditForm key={v.id} vehicle={v} canEdit={props.canEdit} onSaved={props.onSaved} />
      {props.canEdit && !secret && (
        <div className="row actions">
          <button type="button" onClick={() => setConfirm("rotate")} disabled={busy}>
            Rotate secret…
          </button>
          <button type="button" className="danger" onClick={() => setConfirm("remove")} disabled={busy}>
            Remove…
          </button>
        </div>
      )}
      {confirm && (
        <div className="confirm" role="alertdialog" aria-label="confirm" aria-describedby="confirm-text">
          <p id="confirm-text">
            {confirm === "rotate"
              ? `Issue a new secret for ${v.id}? The current one stops working and the device is disconnected until it uses the new one.`
              : `Remove ${v.id}? It is disconnected and can no longer send; its history is kept.`}
          </p>
          <div className="row">
            <button
              type="button"
              className={confirm === "remove" ? "danger" : ""}
              onClick={act}
              disabled={busy}
            >
              {confirm === "rotate" ? "Rotate secret" : "Remove vehicle"}
            </button>
            <button type="button" onClick={() => setConfirm(undefined)}>
              Cancel
            </button>
          </div>
        </div>
      )}
      <ErrorLine error={error} />
      {secret && <VehicleSecretPanel secret={secret} onDone={() => setSecret(undefined)} />}
      <VehicleCommands vehicleId={v.id} canSend={props.canEdit} />
      <VehicleDiagnostics vehicleId={v.id} />
    </section>
  );
}
