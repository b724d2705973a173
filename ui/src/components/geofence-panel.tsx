import type L from "leaflet";
import { type FormEvent, useState } from "react";
import { ApiError, api, type GeofenceFeature } from "../api.ts";
import { errorText } from "../error-text.ts";
import { latLngsFromPolygon, polygonBounds, polygonFromLatLngs } from "../geojson.ts";
import type { Geofences } from "../use-geofences.ts";

const LABELS = { "body.properties.name": "Name", "body.properties.dwellSeconds": "Dwell before enter" };
const MAX_DWELL_S = 86_400;

/** The field's seconds; empty is none (an enter counts at the first fix inside). */
const dwellSeconds = (value: string) => (value.trim() === "" ? 0 : Math.round(Number(value)));

/** Dwell time: a vehicle must stay inside this long before its enter counts (the API's dwellSeconds). */
function DwellField(props: { value: string; onChange: (v: string) => void }) {
  return (
    <label>
      Dwell before enter (seconds)
      <input
        name="geofence-dwell"
        type="number"
        inputMode="numeric"
        min={0}
        max={MAX_DWELL_S}
        step={1}
        placeholder="none: enter at the first fix inside"
        value={props.value}
        onChange={(e) => props.onChange(e.target.value)}
      />
    </label>
  );
}

/** Geofences: draw → name → save; list, select, go to, edit (name and shape), delete. */
export function GeofencePanel(props: { g: Geofences; map: L.Map | null; canEdit: boolean }) {
  const { g, map } = props;
  const [error, setError] = useState<string | undefined>();

  const goTo = (f: GeofenceFeature) => {
    g.setSelectedId(f.id);
    map?.flyToBounds(polygonBounds(f.geometry), { padding: [40, 40], duration: 0.8 });
    g.layers.get(f.id)?.openPopup();
  };

  const remove = async (f: GeofenceFeature) => {
    if (!window.confirm(`Delete geofence "${f.properties.name}"?`)) return;
    try {
      await api.deleteGeofence(f.id);
      if (g.selectedId === f.id) g.setSelectedId(undefined);
      await g.reload();
    } catch (err) {
      setError(errorText(err, LABELS));
    }
  };

  return (
    <section className="geofences">
      {props.canEdit && g.mode.kind === "idle" && (
        <button type="button" data-testid="draw-geofence" onClick={() => g.setMode({ kind: "drawing" })}>
          Draw a geofence
        </button>
      )}
      {g.mode.kind === "drawing" && (
        <div className="card">
          <p>Click on the map to place the corners; click the first corner again to close the polygon.</p>
          <button type="button" onClick={() => g.setMode({ kind: "idle" })}>
            Cancel
          </button>
        </div>
      )}
      {g.mode.kind === "naming" && <NewGeofenceForm g={g} />}
      {g.mode.kind === "editing" && <EditGeofenceForm g={g} id={g.mode.id} />}
      {(error || g.error) && <p className="error">{error ?? g.error}</p>}
      <ul className="list" aria-label="geofences">
        {g.geofences.map((f) => (
          <li key={f.id} data-testid="geofence-row" data-geofence-name={f.properties.name}>
            <div className={f.id === g.selectedId ? "item selected" : "item"}>
              <button type="button" className="link item-main" onClick={() => goTo(f)}>
                <strong>{f.properties.name}</strong>
              </button>
              {props.canEdit && g.mode.kind === "idle" && (
                <span className="item-side">
                  <button
                    type="button"
                    className="link"
                    onClick={() => g.setMode({ kind: "editing", id: f.id })}
                  >
                    Edit
                  </button>
                  <button type="button" className="link danger" onClick={() => void remove(f)}>
                    Delete
                  </button>
                </span>
              )}
            </div>
          </li>
        ))}
      </ul>
      {g.geofences.length === 0 && <p className="muted">No geofences yet.</p>}
    </section>
  );
}

function NewGeofenceForm(props: { g: Geofences }) {
  const { g } = props;
  const [name, setName] = useState("");
  const [dwell, setDwell] = useState("");
  const [error, setError] = useState<string | undefined>();
  if (g.mode.kind !== "naming") return null;
  const polygon = g.mode.polygon;

  const save = async (e: FormEvent) => {
    e.preventDefault();
    try {
      const f = await api.createGeofence(name.trim(), polygon, dwellSeconds(dwell));
      await g.reload();
      g.setSelectedId(f.id);
      g.setMode({ kind: "idle" });
    } catch (err) {
      setError(errorText(err, LABELS));
    }
  };

  return (
    <form className="card" onSubmit={save} aria-label="new geofence">
      <label>
        Name
        <input
          name="geofence-name"
          value={name}
          onChange={(e) => setName(e.target.value)}
          required
          maxLength={200}
        />
      </label>
      <DwellField value={dwell} onChange={setDwell} />
      <p className="muted">{(polygon.coordinates[0]?.length ?? 1) - 1} corners</p>
      {error && (
        <p className="error" role="alert">
          {error}
        </p>
      )}
      <div className="row">
        <button type="submit">Save geofence</button>
        <button type="button" onClick={() => g.setMode({ kind: "idle" })}>
          Discard
        </button>
      </div>
    </form>
  );
}

function EditGeofenceForm(props: { g: Geofences; id: number }) {
  const { g, id } = props;
  const f = g.geofences.find((x) => x.id === id);
  const [name, setName] = useState(f?.properties.name ?? "");
  const [dwell, setDwell] = useState(f?.properties.dwellSeconds ? String(f.properties.dwellSeconds) : "");
  const [error, setError] = useState<string | undefined>();
  if (!f) return null;

  const cancel = () => {
    // geoman moved the vertices of the live layer: put the stored shape back
    g.layers.get(id)?.setLatLngs(latLngsFromPolygon(f.geometry));
    g.setMode({ kind: "idle" });
    void g.reload();
  };

  const save = async (e: FormEvent) => {
    e.preventDefault();
    const layer = g.layers.get(id);
    const geometry = layer ? polygonFromLatLngs(layer.getLatLngs() as L.LatLng[][]) : f.geometry;
    try {
      await api.updateGeofence(f, name.trim(), geometry, dwellSeconds(dwell));
      g.setMode({ kind: "idle" });
      await g.reload();
    } catch (err) {
      const stale = err instanceof ApiError && err.status === 409;
      setError(
        stale
          ? `Conflict: this geofence was changed by someone else (${err.message}). Cancel to see the current one.`
          : errorText(err, LABELS),
      );
    }
  };

  return (
    <form className="card" onSubmit={save} aria-label="edit geofence">
      <p>Drag the corners on the map to change the shape.</p>
      <label>
        Name
        <input value={name} onChange={(e) => setName(e.target.value)} required maxLength={200} />
      </label>
      <DwellField value={dwell} onChange={setDwell} />
      {error && (
        <p className="error" role="alert">
          {error}
        </p>
      )}
      <div className="row">
        <button type="submit">Save changes</button>
        <button type="button" onClick={cancel}>
          Cancel
        </button>
      </div>
    </form>
  );
}
