import { type FormEvent, useState } from "react";
import { KIND_LABELS, RULE_FIELD_LABELS, RULE_KINDS } from "../alert-labels.ts";
import {
  type AlertRule,
  type AlertRuleInput,
  type AlertRuleKind,
  type AlertScope,
  alertsApi,
  type NotificationChannel,
} from "../alerts-api.ts";
import { ApiError, type GeofenceFeature } from "../api.ts";
import { errorText } from "../error-text.ts";
import type { VehicleView } from "../use-vehicles.ts";
import { paramsOf, paramsStateOf, RuleParamsFields, type RuleParamsState } from "./rule-params-fields.tsx";
import { VehicleSelect } from "./vehicle-select.tsx";

/**
 * A new rule, or an existing one at the version it was opened on: the save sends that version in
 * If-Match, so a change someone made meanwhile is a conflict (offered to load), never overwritten.
 */
export function AlertRuleForm(props: {
  rule: AlertRule | undefined;
  channels: NotificationChannel[];
  vehicles: VehicleView[];
  geofences: GeofenceFeature[];
  onSaved: (rule: AlertRule) => void;
  onCancel: () => void;
  /** load the rule as it is now (after a conflict) */
  onReload: (id: number) => void;
}) {
  const base = props.rule;
  const [name, setName] = useState(base?.name ?? "");
  const [kind, setKind] = useState<AlertRuleKind>(base?.kind ?? "speeding");
  const [params, setParams] = useState<RuleParamsState>(paramsStateOf(base));
  const [scopeKind, setScopeKind] = useState<AlertScope["kind"]>(base?.scope.kind ?? "fleet");
  const [vehicleId, setVehicleId] = useState(base?.scope.kind === "vehicle" ? base.scope.vehicleId : "");
  const [quiet, setQuiet] = useState(base?.quietHours != null);
  const [quietFrom, setQuietFrom] = useState(base?.quietHours?.from ?? "22:00");
  const [quietTo, setQuietTo] = useState(base?.quietHours?.to ?? "06:00");
  const [channelIds, setChannelIds] = useState<number[]>(base?.channelIds ?? []);
  const [enabled, setEnabled] = useState(base?.enabled ?? true);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | undefined>();
  const [conflict, setConflict] = useState(false);

  const scope = (): AlertScope =>
    scopeKind === "vehicle"
      ? { kind: "vehicle", vehicleId }
      : scopeKind === "group" && base?.scope.kind === "group"
        ? base.scope
        : { kind: "fleet" };

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setBusy(true);
    setError(undefined);
    setConflict(false);
    const input: AlertRuleInput = {
      name: name.trim(),
      params: paramsOf(kind, params, base),
      scope: scope(),
      channelIds,
      quietHours: quiet ? { from: quietFrom, to: quietTo } : null,
      enabled,
    };
    try {
      props.onSaved(
        base
          ? await alertsApi.updateRule(base.id, base.version, input)
          : await alertsApi.createRule({ ...input, kind }),
      );
    } catch (err) {
      setConflict(err instanceof ApiError && err.code === "E_VERSION_CONFLICT");
      setError(errorText(err, RULE_FIELD_LABELS));
    } finally {
      setBusy(false);
    }
  };

  const scopeRadio = (k: AlertScope["kind"], label: string) => (
    <label className="inline">
      <input type="radio" name="scope" checked={scopeKind === k} onChange={() => setScopeKind(k)} />
      {label}
    </label>
  );

  const toggleChannel = (id: number, on: boolean) =>
    setChannelIds((ids) => (on ? [...ids, id] : ids.filter((x) => x !== id)));

  return (
    <form
      className="card edit-form"
      onSubmit={submit}
      aria-label={base ? "edit alert rule" : "new alert rule"}
    >
      <h3>{base ? `Edit rule (version ${base.version})` : "New alert rule"}</h3>
      <fieldset disabled={busy}>
        <label>
          Name (up to 200 characters)
          <input value={name} onChange={(e) => setName(e.target.value)} required maxLength={200} />
        </label>
        <label>
          Kind
          <select
            value={kind}
            disabled={base !== undefined}
            onChange={(e) => setKind(e.target.value as AlertRuleKind)}
          >
            {RULE_KINDS.map((k) => (
              <option key={k} value={k}>
                {KIND_LABELS[k]}
              </option>
            ))}
          </select>
        </label>
        {base && <p className="muted">A rule's kind cannot change; create another rule instead.</p>}
        <RuleParamsFields kind={kind} value={params} onChange={setParams} geofences={props.geofences} />
        <fieldset className="group">
          <legend>Applies to</legend>
          {scopeRadio("fleet", "The whole fleet")}
          {scopeRadio("vehicle", "One vehicle")}
          {base?.scope.kind === "group" && scopeRadio("group", `Vehicle group #${base.scope.groupId}`)}
          {scopeKind === "vehicle" && (
            <VehicleSelect
              vehicles={props.vehicles}
              value={vehicleId}
              onChange={setVehicleId}
              empty="Choose a vehicle…"
              required
            />
          )}
        </fieldset>
        <fieldset className="group">
          <legend>Notify</legend>
          {props.channels.length === 0 && <p className="muted">No channels yet: add one under Channels.</p>}
          {props.channels.map((c) => (
            <label className="inline" key={c.id}>
              <input
                type="checkbox"
                checked={channelIds.includes(c.id)}
                onChange={(e) => toggleChannel(c.id, e.target.checked)}
              />
              {c.name} ({c.kind === "webhook" ? "webhook" : "e-mail"}
              {c.enabled ? "" : ", disabled"})
            </label>
          ))}
        </fieldset>
        <fieldset className="group">
          <legend>Quiet hours</legend>
          <label className="inline">
            <input type="checkbox" checked={quiet} onChange={(e) => setQuiet(e.target.checked)} />
            Do not notify between (fleet time zone)
          </label>
          {quiet && (
            <div className="row">
              <label>
                From
                <input
                  type="time"
                  value={quietFrom}
                  onChange={(e) => setQuietFrom(e.target.value)}
                  required
                />
              </label>
              <label>
                To
                <input type="time" value={quietTo} onChange={(e) => setQuietTo(e.target.value)} required />
              </label>
            </div>
          )}
        </fieldset>
        <label className="inline">
          <input type="checkbox" checked={enabled} onChange={(e) => setEnabled(e.target.checked)} />
          Enabled
        </label>
        {error && (
          <div className="error" role="alert" data-testid="rule-error">
            <p>{error}</p>
            {conflict && base && (
              <button type="button" onClick={() => props.onReload(base.id)}>
                Load their version
              </button>
            )}
          </div>
        )}
        <div className="row">
          <button type="submit">{base ? "Save changes" : "Create rule"}</button>
          <button type="button" onClick={props.onCancel}>
            Cancel
          </button>
        </div>
      </fieldset>
    </form>
  );
}
