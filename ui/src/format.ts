/**
 * Display helpers: the API speaks UTC epoch ms / ISO-8601 and km/h; people read times in a zone
 * (FLEET_TZ unless they chose another), always named, and speeds in their unit. The choice is
 * set once for the page (setDisplay) so every panel formats alike.
 */
let timeZone: string | undefined;
let units: "kmh" | "mph" = "kmh";
let formatter = makeFormatter(undefined);

function makeFormatter(zone: string | undefined): Intl.DateTimeFormat {
  return new Intl.DateTimeFormat("en-GB", {
    timeZone: zone,
    year: "numeric",
    month: "2-digit",
    day: "2-digit",
    hour: "2-digit",
    minute: "2-digit",
    second: "2-digit",
    hourCycle: "h23",
    timeZoneName: "short",
  });
}

export function setDisplay(d: { timeZone: string; units: "kmh" | "mph" }): void {
  if (d.timeZone !== timeZone) {
    try {
      formatter = makeFormatter(d.timeZone);
      timeZone = d.timeZone;
    } catch {
      // an unknown zone name: keep the one before
    }
  }
  units = d.units;
}

export function displayZone(): string {
  return timeZone ?? Intl.DateTimeFormat().resolvedOptions().timeZone;
}

export function timeAgo(ms: number | undefined, now = Date.now()): string {
  if (ms === undefined) return "never";
  const s = Math.max(0, Math.round((now - ms) / 1000));
  if (s < 60) return `${s}s ago`;
  if (s < 3600) return `${Math.floor(s / 60)}m ago`;
  if (s < 86_400) return `${Math.floor(s / 3600)}h ago`;
  return `${Math.floor(s / 86_400)}d ago`;
}

/** `2025-03-01 14:05:09 GMT+4`: ISO order, 24 h, and the zone it is in. */
export function dateTime(t: number | string | undefined): string {
  if (t === undefined) return "—";
  const d = new Date(t);
  if (Number.isNaN(d.getTime())) return String(t);
  const p = Object.fromEntries(formatter.formatToParts(d).map((x) => [x.type, x.value]));
  return `${p.year}-${p.month}-${p.day} ${p.hour}:${p.minute}:${p.second} ${p.timeZoneName ?? ""}`.trim();
}

const KMH_PER_MPH = 1.609344;

/** "km/h" or "mph": the unit people read and type speeds in. */
export function speedUnit(): string {
  return units === "mph" ? "mph" : "km/h";
}

/** A km/h value in the chosen unit, as a number (for a form field), one decimal at most. */
export function speedIn(kmh: number): number {
  return Math.round((units === "mph" ? kmh / KMH_PER_MPH : kmh) * 10) / 10;
}

/** A value typed in the chosen unit, in km/h as the API wants it. */
export function speedToKmh(v: number): number {
  return units === "mph" ? Math.round(v * KMH_PER_MPH * 1000) / 1000 : v;
}

/** A speed the API gave in km/h, in the chosen unit. */
export function speed(kmh: number | null | undefined): string {
  if (kmh === undefined || kmh === null) return "—";
  return units === "mph" ? `${(kmh / KMH_PER_MPH).toFixed(0)} mph` : `${kmh.toFixed(0)} km/h`;
}

export function num(v: number | null | undefined, digits = 0, unit = ""): string {
  return v === undefined || v === null ? "—" : `${v.toFixed(digits)}${unit}`;
}

export function duration(seconds: number | undefined): string {
  if (seconds === undefined) return "—";
  const h = Math.floor(seconds / 3600);
  const m = Math.round((seconds % 3600) / 60);
  return h > 0 ? `${h}h ${m}m` : `${m}m`;
}

/** `<input type="datetime-local">` value for a date, in local time. */
export function toLocalInput(d: Date): string {
  const pad = (n: number) => String(n).padStart(2, "0");
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}`;
}
