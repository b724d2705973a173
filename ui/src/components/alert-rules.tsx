import { useState } from "react";
import { KIND_LABELS, paramsText, scopeText } from "../alert-labels.ts";
import { type AlertRule, alertsApi, type NotificationChannel } from "../alerts-api.ts";
import type { GeofenceFeature } from "../api.ts";
import { errorText } from "../error-text.ts";
import type { VehicleView } from "../use-vehicles.ts";
import { AlertRuleForm } from "./alert-rule-form.tsx";

type Editing = { kind: "none" } | { kind: "new" } | { kind: "edit"; rule: AlertRule };

/** Alert rules: the list for everyone; create, edit and delete for admins. */
export function AlertRules(props: {
  rules: AlertRule[];
  channels: NotificationChannel[];
  vehicles: VehicleView[];
  geofences: GeofenceFeature[];
  canEdit: boolean;
  reload: () => Promise<void>;
}) {
  const [editing, setEditing] = useState<Editing>({ kind: "none" });
  const [error, setError] = useState<string | undefined>();
  const channelName = (id: number) => props.channels.find((c) => c.id === id)?.name ?? `channel #${id}`;

  const remove = async (rule: AlertRule) => {
    if (!window.confirm(`Delete alert rule "${rule.name}"? Its past alerts stay in the inbox.`)) return;
    setError(undefined);
    try {
      await alertsApi.deleteRule(rule.id);
    } catch (err) {
      setError(errorText(err));
    }
    await props.reload();
  };

  const reloadOne = async (id: number) => {
    try {
      setEditing({ kind: "edit", rule: await alertsApi.rule(id) });
      await props.reload();
    } catch (err) {
      setError(errorText(err));
    }
  };

  return (
    <section aria-label="alert rules">
      {props.canEdit && editing.kind === "none" && (
        <button type="button" onClick={() => setEditing({ kind: "new" })}>
          New rule
        </button>
      )}
      {!props.canEdit && <p className="muted">Viewers cannot change alert rules.</p>}
      {editing.kind !== "none" && (
        <AlertRuleForm
          // a fresh form for each rule version (after "load their version" too)
          key={editing.kind === "edit" ? `${editing.rule.id}@${editing.rule.version}` : "new"}
          rule={editing.kind === "edit" ? editing.rule : undefined}
          channels={props.channels}
          vehicles={props.vehicles}
          geofences={props.geofences}
          onSaved={() => {
            setEditing({ kind: "none" });
            void props.reload();
          }}
          onCancel={() => setEditing({ kind: "none" })}
          onReload={(id) => void reloadOne(id)}
        />
      )}
      {error && (
        <p className="error" role="alert">
          {error}
        </p>
      )}
      <ul className="list" aria-label="rules">
        {props.rules.map((r) => (
          <li key={r.id} className="item" data-testid="rule-row" data-rule-name={r.name}>
            <div className="item-main">
              <strong className="wrap">{r.name}</strong>
              {!r.enabled && <span className="status status-inactive">disabled</span>}
              <div className="muted wrap">
                {KIND_LABELS[r.kind]}: {paramsText(r, props.geofences)} · {scopeText(r.scope)}
                {r.quietHours && ` · quiet ${r.quietHours.from}–${r.quietHours.to}`}
              </div>
              <div className="muted wrap">
                {r.channelIds.length === 0
                  ? "no notifications"
                  : `notifies ${r.channelIds.map(channelName).join(", ")}`}
              </div>
            </div>
            {props.canEdit && editing.kind === "none" && (
              <span className="item-side">
                <button type="button" className="link" onClick={() => setEditing({ kind: "edit", rule: r })}>
                  Edit<span className="sr-only"> {r.name}</span>
                </button>
                <button type="button" className="link danger" onClick={() => void remove(r)}>
                  Delete<span className="sr-only"> {r.name}</span>
                </button>
              </span>
            )}
          </li>
        ))}
      </ul>
      {props.rules.length === 0 && <p className="muted">No alert rules yet.</p>}
    </section>
  );
}
