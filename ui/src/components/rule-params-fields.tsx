import type { AlertRule, AlertRuleKind } from "../alerts-api.ts";
import type { GeofenceFeature } from "../api.ts";
import { speedIn, speedToKmh, speedUnit } from "../format.ts";

/** The form's text of every kind's parameters (kept while the kind is switched back and forth). */
export interface RuleParamsState {
  limitKmh: string;
  minSeconds: string;
  minMinutes: string;
  /** offline and no_fix */
  minutes: string;
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

/** The form's text of a rule's params; the speed limit in the viewer's unit. */
export function paramsStateOf(rule: AlertRule | undefined): RuleParamsState {
  const p = rule?.params ?? {};
  return {
    limitKmh:
      typeof p.limitKmh === "number" ? String(speedIn(p.limitKmh)) : text(p.limitKmh, String(speedIn(80))),
    minSeconds: text(p.minSeconds, rule ? "" : "10"),
    minMinutes: text(p.minMinutes, "5"),
    minutes: text(p.minutes, "10"),
    attribute: text(p.attribute),
    side: p.below !== undefined ? "below" : "above",
    value: text(p.above ?? p.below),
    geofenceId: text(p.geofenceId),
  };
}

/** An empty field is left out, so the API answers which one is missing; text that is no number is sent as null. */
const number = (s: string): number | undefined => (s.trim() === "" ? undefined : Number(s));

/**
 * The params to send. The speed limit is typed in the viewer's unit and sent in km/h; unchanged
 * since the form opened, the stored value is sent back as it was (no mph round trip drift).
 */
export function paramsOf(kind: AlertRuleKind, s: RuleParamsState, base?: AlertRule): Record<string, unknown> {
  switch (kind) {
    case "speeding": {
      const typed = number(s.limitKmh);
      const unchanged = base !== undefined && s.limitKmh === paramsStateOf(base).limitKmh;
      const limitKmh = unchanged
        ? base.params.limitKmh
        : typed === undefined || Number.isNaN(typed)
          ? typed
          : speedToKmh(typed);
      return { limitKmh, minSeconds: number(s.minSeconds) };
    }
    case "idling":
      return { minMinutes: number(s.minMinutes) };
    case "threshold":
      return { attribute: s.attribute.trim(), [s.side]: number(s.value), minSeconds: number(s.minSeconds) };
    case "geofence_enter":
    case "geofence_exit":
      return s.geofenceId ? { geofenceId: Number(s.geofenceId) } : {};
    case "offline":
    case "no_fix":
      return { minutes: number(s.minutes) };
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
  const numberInput = (
    label: string,
    key: "limitKmh" | "minSeconds" | "minMinutes" | "minutes" | "value",
  ) => (
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
          {numberInput(`Speed limit (${speedUnit()})`, "limitKmh")}
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
    case "offline":
    case "no_fix":
      return (
        <div data-testid="rule-params">
          {numberInput("For at least (minutes)", "minutes")}
          <p className="muted">
            {props.kind === "offline"
              ? "When the vehicle's connection has been gone this long (presence)."
              : "When the vehicle has sent no position this long, connected or not."}
          </p>
        </div>
      );
  }
}
