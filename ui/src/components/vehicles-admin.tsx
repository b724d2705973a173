import "./admin.css";
import { useMemo, useState } from "react";
import { adminApi, errorText } from "../admin-api.ts";
import type { Vehicle } from "../api.ts";
import { saveBlob } from "../download.ts";
import type { Permissions } from "../permissions.ts";
import { ErrorLine } from "./error-line.tsx";
import { VehicleAddForm } from "./vehicles-admin-add.tsx";
import { VehicleAdminDetail } from "./vehicles-admin-detail.tsx";
import { VehicleImport } from "./vehicles-admin-import.tsx";

type Mode = { kind: "list" } | { kind: "add" } | { kind: "import" } | { kind: "vehicle"; id: string };

const SHOWN = 200;

/**
 * The registry, to manage: add, import, export, and per vehicle edit, rotate, remove, commands
 * and diagnostics. An operator adds and changes vehicles (import is for admins); a viewer sees the
 * same without the controls that write (the API refuses them).
 */
export function VehiclesAdmin(props: {
  vehicles: Vehicle[];
  can: Permissions;
  onChanged: () => void;
  onSaved: (v: Vehicle) => void;
}) {
  const [mode, setMode] = useState<Mode>({ kind: "list" });
  const [filter, setFilter] = useState("");
  const [exportError, setExportError] = useState<string | undefined>();
  const [exporting, setExporting] = useState(false);

  const matches = useMemo(() => {
    const f = filter.trim().toLowerCase();
    return f === ""
      ? props.vehicles
      : props.vehicles.filter((v) =>
          [v.id, v.name, v.plate, v.imei].some((s) => s?.toLowerCase().includes(f)),
        );
  }, [props.vehicles, filter]);

  const exportCsv = async () => {
    setExporting(true);
    setExportError(undefined);
    try {
      saveBlob(await adminApi.exportCsv(), "vehicles.csv");
    } catch (err) {
      setExportError(`The export failed: ${errorText(err)}`);
    } finally {
      setExporting(false);
    }
  };

  const selected = mode.kind === "vehicle" ? props.vehicles.find((v) => v.id === mode.id) : undefined;
  const toList = () => setMode({ kind: "list" });

  return (
    <div className="vehicles-admin" data-testid="vehicles-admin">
      <div className="row toolbar">
        {props.can.operate && (
          <button type="button" onClick={() => setMode({ kind: "add" })}>
            Add vehicle
          </button>
        )}
        {props.can.admin && (
          <button type="button" onClick={() => setMode({ kind: "import" })}>
            Import CSV
          </button>
        )}
        <button type="button" onClick={() => void exportCsv()} disabled={exporting}>
          {exporting ? "Exporting…" : "Export CSV"}
        </button>
      </div>
      <ErrorLine error={exportError} testId="export-error" />
      {mode.kind === "add" && <VehicleAddForm onAdded={() => props.onChanged()} onClose={toList} />}
      {mode.kind === "import" && <VehicleImport onImported={props.onChanged} onClose={toList} />}
      {selected && (
        <VehicleAdminDetail
          vehicle={selected}
          canEdit={props.can.operate}
          onSaved={props.onSaved}
          onRemoved={() => {
            // the search that found it would now find nothing
            setFilter("");
            toList();
            props.onChanged();
          }}
          onClose={toList}
        />
      )}
      <input
        type="search"
        placeholder="Find by id, name, plate or IMEI"
        aria-label="find a vehicle to manage"
        value={filter}
        onChange={(e) => setFilter(e.target.value)}
        onKeyDown={(e) => {
          const first = matches[0];
          if (e.key === "Enter" && first) setMode({ kind: "vehicle", id: first.id });
        }}
      />
      <p className="muted">
        {matches.length} of {props.vehicles.length} vehicles
        {matches.length > SHOWN && ` (the first ${SHOWN} shown: narrow the search)`}
      </p>
      <ul className="list">
        {matches.slice(0, SHOWN).map((v) => (
          <li key={v.id}>
            <button
              type="button"
              className={`item${mode.kind === "vehicle" && mode.id === v.id ? " selected" : ""}`}
              data-testid="admin-vehicle-row"
              onClick={() => setMode({ kind: "vehicle", id: v.id })}
            >
              <span className="item-main">
                {v.id}
                {v.name && <span className="muted"> · {v.name}</span>}
                {v.plate && <span className="plate">{v.plate}</span>}
              </span>
              <span className={`status status-${v.status}`}>{v.status}</span>
            </button>
          </li>
        ))}
      </ul>
    </div>
  );
}
