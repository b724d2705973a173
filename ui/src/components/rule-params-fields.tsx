import type { AlertRule, AlertRuleKind } from "../alerts-api.ts";
import type { GeofenceFeature } from "../api.ts";

/** The form's text of every kind's parameters (kept while the kind is switched back and forth). */
export interface RuleParamsState {
  limitKmh: string;
  minSeconds: string;
  minMinutes: string;
  attribute: string;
  side: "above" | "below";
  value: string;
  /** "" = any geofence */
  geofenceId: string;
}

/** Suggestions: the numeric fix fields, and a device attribute Teltonika trackers send. */
const FIX_FIELDS = ["speed", "heading", "altitude", "accuracy", "odometer", "externalVoltage"];

const text = (v: unknown, fallback = "") =>
  typeof v === "number" || typeof v === "string" ? String(v) : fallback;

export function paramsStateOf(rule: AlertRule | undefined): RuleParamsState {
  const p = rule?.params ?? {};
  return {
    limitKmh: text(p.limitKmh, "80"),
    minSeconds: text(p.minSeconds, rule ? "" : "10"),
    minMinutes: text(p.minMinutes, "5"),
    attribute: text(p.attribute),
    side: p.below !== undefined ? "below" : "above",
    value: text(p.above ?? p.below),
    geofenceId: text(p.geofenceId),
  };
}

/** An empty field is left out, so the API answers which one is missing; text that is no number is sent as null. */
const number = (s: string): number | undefined => (s.trim() === "" ? undefined : Number(s));

export function paramsOf(kind: AlertRuleKind, s: RuleParamsState): Record<string, unknown> {
  switch (kind) {
    case "speeding":
      return { limitKmh: number(s.limitKmh), minSeconds: number(s.minSeconds) };
    case "idling":
      return { minMinutes: number(s.minMinutes) };
    case "threshold":
      return { attribute: s.attribute.trim(), [s.side]: number(s.value), minSeconds: number(s.minSeconds) };
    case "geofence_enter":
    case "geofence_exit":
      return s.geofenceId ? { geofenceId: Number(s.geofenceId) } : {};
    default:
      return {};
  }
}

/** The parameters of one rule kind. */
export function RuleParamsFields(props: {
  kind: AlertRuleKind;
  value: RuleParamsState;
  onChange: (v: RuleParamsState) => void;
  geofences: GeofenceFeature[];
}) {
  const v = props.value;
  const set = (patch: Partial<RuleParamsState>) => props.onChange({ ...v, ...patch });
  const numberInput = (label: string, key: "limitKmh" | "minSeconds" | "minMinutes" | "value") => (
    <label>
      {label}
      <input
        type="number"
        step="any"
        inputMode="decimal"
        value={v[key]}
        onChange={(e) => set({ [key]: e.target.value })}
      />
    </label>
  );

  switch (props.kind) {
    case "speeding":
      return (
        <div data-testid="rule-params">
          {numberInput("Speed limit (km/h)", "limitKmh")}
          {numberInput("Minimum duration (seconds)", "minSeconds")}
        </div>
      );
    case "idling":
      return <div data-testid="rule-params">{numberInput("Minimum duration (minutes)", "minMinutes")}</div>;
    case "threshold":
      return (
        <div data-testid="rule-params">
          <label>
            Attribute
            <input
              value={v.attribute}
              list="fix-fields"
              onChange={(e) => set({ attribute: e.target.value })}
              placeholder="e.g. externalVoltage or io66"
            />
          </label>
          <datalist id="fix-fields">
            {FIX_FIELDS.map((f) => (
              <option key={f} value={f} />
            ))}
          </datalist>
          <label>
            Alert when the value is
            <select value={v.side} onChange={(e) => set({ side: e.target.value as "above" | "below" })}>
              <option value="above">above</option>
              <option value="below">below</option>
            </select>
          </label>
          {numberInput("Value", "value")}
          {numberInput("Minimum duration (seconds)", "minSeconds")}
        </div>
      );
    case "geofence_enter":
    case "geofence_exit":
      return (
        <div data-testid="rule-params">
          <label>
            Geofence
            <select value={v.geofenceId} onChange={(e) => set({ geofenceId: e.target.value })}>
              <option value="">Any geofence</option>
              {props.geofences.map((g) => (
                <option key={g.id} value={String(g.id)}>
                  {g.properties.name}
                </option>
              ))}
            </select>
          </label>
        </div>
      );
    default:
      return <p className="muted">This kind is not evaluated yet.</p>;
  }
}
