import { useCallback, useEffect, useState } from "react";
import { type AlertMessage, type AlertRule, alertsApi, type NotificationChannel } from "../alerts-api.ts";
import type { GeofenceFeature } from "../api.ts";
import { errorText } from "../error-text.ts";
import type { Permissions } from "../permissions.ts";
import type { VehicleView } from "../use-vehicles.ts";
import { AlertInbox } from "./alert-inbox.tsx";
import { AlertRules } from "./alert-rules.tsx";
import { ChannelsPanel } from "./channels-panel.tsx";
import { TabButtons } from "./tab-buttons.tsx";

export const ALERT_VIEWS = ["inbox", "rules", "channels"] as const;
export type AlertView = (typeof ALERT_VIEWS)[number];

/** The sidebar's alerts tab: the inbox, the rules and the notification channels. */
export function AlertsPanel(props: {
  view: AlertView;
  onView: (v: AlertView) => void;
  can: Permissions;
  vehicles: VehicleView[];
  geofences: GeofenceFeature[];
  live: AlertMessage[];
  onSelectVehicle: (id: string) => void;
}) {
  const [rules, setRules] = useState<AlertRule[]>([]);
  const [channels, setChannels] = useState<NotificationChannel[]>([]);
  const [error, setError] = useState<string | undefined>();

  // rules name channels: both are loaded together
  const reload = useCallback(async () => {
    try {
      const [r, c] = await Promise.all([alertsApi.rules(), alertsApi.channels()]);
      setRules(r);
      setChannels(c);
      setError(undefined);
    } catch (err) {
      setError(errorText(err));
    }
  }, []);

  useEffect(() => {
    void reload();
  }, [reload]);

  return (
    <section className="alerts">
      <TabButtons
        tabs={ALERT_VIEWS}
        active={props.view}
        onSelect={props.onView}
        label="alerts"
        className="subtabs"
      />
      {error && <p className="error">{error}</p>}
      {props.view === "inbox" && (
        <AlertInbox
          vehicles={props.vehicles}
          live={props.live}
          canAck={props.can.operate}
          onSelectVehicle={props.onSelectVehicle}
        />
      )}
      {props.view === "rules" && (
        <AlertRules
          rules={rules}
          channels={channels}
          vehicles={props.vehicles}
          geofences={props.geofences}
          canEdit={props.can.operate}
          reload={reload}
        />
      )}
      {props.view === "channels" && (
        <ChannelsPanel
          channels={channels}
          usedBy={(id) => rules.filter((r) => r.channelIds.includes(id)).map((r) => r.name)}
          canEdit={props.can.admin}
          reload={reload}
        />
      )}
    </section>
  );
}
