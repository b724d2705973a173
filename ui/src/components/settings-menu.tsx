import type { DisplaySettings } from "../display-settings.ts";

/** The viewer's time zone and speed unit (kept in this browser: display-settings.ts). */
export function SettingsMenu(props: {
  settings: DisplaySettings;
  fleetTimeZone: string;
  onChange: (s: DisplaySettings) => void;
}) {
  const browserZone = Intl.DateTimeFormat().resolvedOptions().timeZone;
  return (
    <details className="settings">
      <summary>Settings</summary>
      <div className="settings-body">
        <label>
          Times in
          <select
            value={props.settings.zone}
            onChange={(e) =>
              props.onChange({ ...props.settings, zone: e.target.value as DisplaySettings["zone"] })
            }
          >
            <option value="fleet">fleet zone ({props.fleetTimeZone})</option>
            <option value="browser">this device ({browserZone})</option>
            <option value="UTC">UTC</option>
          </select>
        </label>
        <label>
          Speed in
          <select
            value={props.settings.units}
            onChange={(e) =>
              props.onChange({ ...props.settings, units: e.target.value as DisplaySettings["units"] })
            }
          >
            <option value="kmh">km/h</option>
            <option value="mph">mph</option>
          </select>
        </label>
      </div>
    </details>
  );
}
