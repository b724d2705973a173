import { useCallback, useState } from "react";

/**
 * The viewer's own display choices, kept in this browser only (localStorage, written only when
 * changed: nothing is stored until someone picks): which zone times are shown in and the speed
 * unit. "fleet" is FLEET_TZ from /api/ui/config.
 */
export interface DisplaySettings {
  zone: "fleet" | "browser" | "UTC";
  units: "kmh" | "mph";
}

const KEY = "logitrack.display";
const DEFAULTS: DisplaySettings = { zone: "fleet", units: "kmh" };

export function loadSettings(): DisplaySettings {
  try {
    const raw = JSON.parse(localStorage.getItem(KEY) ?? "{}") as Partial<DisplaySettings>;
    return {
      zone: raw.zone === "browser" || raw.zone === "UTC" ? raw.zone : DEFAULTS.zone,
      units: raw.units === "mph" ? "mph" : DEFAULTS.units,
    };
  } catch {
    return DEFAULTS;
  }
}

export function useDisplaySettings(): [DisplaySettings, (s: DisplaySettings) => void] {
  const [settings, set] = useState(loadSettings);
  const save = useCallback((s: DisplaySettings) => {
    try {
      localStorage.setItem(KEY, JSON.stringify(s));
    } catch {
      // private mode or storage full: the choice holds for this page only
    }
    set(s);
  }, []);
  return [settings, save];
}

/** The IANA zone a setting means. */
export function zoneOf(s: DisplaySettings, fleetTimeZone: string): string {
  if (s.zone === "UTC") return "UTC";
  if (s.zone === "browser") return Intl.DateTimeFormat().resolvedOptions().timeZone;
  return fleetTimeZone;
}
