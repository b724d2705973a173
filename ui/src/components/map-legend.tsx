import { isLastKnown, STATE_COLORS, STATE_LABELS, STATES, type VehicleState } from "../vehicle-state.ts";

/** The marker colours (the list's dots are the same), with how many vehicles are in each state. */
export function MapLegend(props: { counts: Record<VehicleState, number> }) {
  return (
    <section className="map-legend" aria-label="legend">
      <ul>
        {STATES.map((s) => (
          <li key={s} className="legend-item" data-state={s}>
            <span
              className="dot"
              aria-hidden
              style={
                isLastKnown(s) ? { border: `2px solid ${STATE_COLORS[s]}` } : { background: STATE_COLORS[s] }
              }
            />
            {STATE_LABELS[s]} <span className="muted">{props.counts[s]}</span>
          </li>
        ))}
        <li className="legend-item legend-note muted">Numbered circles: vehicles grouped when zoomed out</li>
      </ul>
    </section>
  );
}
