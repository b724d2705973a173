import { Fragment } from "react";
import type { Vehicle } from "../api.ts";
import { dateTime, num, speed, timeAgo } from "../format.ts";
import { useNow } from "../use-store-version.ts";
import type { VehicleView } from "../use-vehicles.ts";
import { isLastKnown, STATE_COLORS, STATE_LABELS, type StateRule, stateOf } from "../vehicle-state.ts";
import { VehicleEditForm } from "./vehicle-edit-form.tsx";

/**
 * The selected vehicle: its newest fix and the registry fields, with the edit form; follow keeps
 * it in the middle of the map. Escape closes it (fleet-app.tsx).
 */
export function VehicleDetails(props: {
  vehicle: VehicleView;
  canEdit: boolean;
  rule: StateRule;
  follow: boolean;
  onFollowChange: (follow: boolean) => void;
  onClose: () => void;
  onSaved: (v: Vehicle) => void;
}) {
  const { vehicle: v } = props;
  const p = v.position;
  const now = useNow(1000);
  const state = stateOf(p, now, props.rule, v.online);
  const stale = isLastKnown(state);
  return (
    <section className="card details" data-testid="vehicle-details" aria-label={`vehicle ${v.id}`}>
      <header className="row">
        <h2>{v.name ?? v.id}</h2>
        <label className="follow">
          <input
            type="checkbox"
            checked={props.follow}
            onChange={(e) => props.onFollowChange(e.target.checked)}
          />
          Follow
        </label>
        <button type="button" className="link" onClick={props.onClose} aria-label="close details (Escape)">
          ✕
        </button>
      </header>
      <dl className="facts">
        <dt>Vehicle</dt>
        <dd>{v.id}</dd>
        <dt>State</dt>
        <dd data-testid="detail-state" data-state={state}>
          <span style={{ color: STATE_COLORS[state] }}>{STATE_LABELS[state]}</span>
          {stale && p && (
            <span className="stale-tag"> · no fix for {timeAgo(p.recordedAt, now).replace(" ago", "")}</span>
          )}
        </dd>
        {v.online !== null && (
          <>
            <dt>Connection</dt>
            <dd data-testid="detail-presence" data-online={String(v.online)}>
              {v.online ? "online" : "offline"}
              {v.presenceSince !== null && ` since ${dateTime(v.presenceSince)}`}
            </dd>
          </>
        )}
        {v.status !== "active" && (
          <>
            <dt>Status</dt>
            <dd>{v.status}</dd>
          </>
        )}
        <dt>{stale ? "Last known speed" : "Speed"}</dt>
        <dd data-testid="detail-speed">{speed(p?.speed)}</dd>
        <dt>{stale ? "Last known heading" : "Heading"}</dt>
        <dd>{num(p?.heading, 0, "°")}</dd>
        <dt>{stale ? "Last seen" : "Last fix"}</dt>
        <dd>
          {dateTime(p?.recordedAt)} ({timeAgo(p?.recordedAt, now)})
        </dd>
        <dt>Ignition</dt>
        <dd>{p?.ignition === undefined ? "—" : p.ignition ? "on" : "off"}</dd>
        <dt>Odometer</dt>
        <dd>{num(p?.odometer, 1, " km")}</dd>
        {p?.attributes && <DeviceAttributes attributes={p.attributes} />}
        <dt>Position</dt>
        <dd>{p ? `${p.lat.toFixed(5)}, ${p.lng.toFixed(5)}` : "—"}</dd>
      </dl>
      <VehicleEditForm key={v.id} vehicle={v} canEdit={props.canEdit} onSaved={props.onSaved} />
    </section>
  );
}

const volts = (v: unknown) => (typeof v === "number" ? `${v.toFixed(2)} V` : undefined);

/**
 * A device's own values (a Teltonika device's IO elements): the named ones as rows, every raw
 * one in a list that opens on demand.
 */
function DeviceAttributes(props: { attributes: Record<string, number | string | boolean> }) {
  const a = props.attributes;
  const named: [string, string | undefined][] = [
    ["External voltage", volts(a.externalVoltage)],
    ["Battery", volts(a.batteryVoltage)],
    ["GSM signal", typeof a.gsmSignal === "number" ? `${a.gsmSignal}/5` : undefined],
    ["Moving", typeof a.movement === "boolean" ? (a.movement ? "yes" : "no") : undefined],
  ];
  return (
    <>
      {named
        .filter(([, v]) => v !== undefined)
        .map(([label, v]) => (
          <Fragment key={label}>
            <dt>{label}</dt>
            <dd>{v}</dd>
          </Fragment>
        ))}
      <dt>Attributes</dt>
      <dd>
        <details data-testid="detail-attributes">
          <summary>{Object.keys(a).length}</summary>
          <ul className="attributes">
            {Object.entries(a).map(([k, v]) => (
              <li key={k}>
                {k}: {String(v)}
              </li>
            ))}
          </ul>
        </details>
      </dd>
    </>
  );
}
