import { WALL_CLOCK } from "./zone-time.ts";

/**
 * Display helpers: the API speaks UTC epoch ms / ISO-8601 and km/h; people read times in a zone
 * (FLEET_TZ unless they chose another), always named, and speeds in their unit. The choice is
 * set once for the page (setDisplay) so every panel formats alike.
 */
let timeZone: string | undefined;
let units: "kmh" | "mph" = "kmh";
let formatter = makeFormatter(undefined);

function makeFormatter(zone: string | undefined): Intl.DateTimeFormat {
  return new Intl.DateTimeFormat("en-GB", { ...WALL_CLOCK, timeZone: zone, timeZoneName: "short" });
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

const M2_PER_ACRE = 4046.8564224;
const ACRES_PER_SQ_MILE = 640;

/** An area in m², in the chosen system: m², ha, km² or acres, mi² (with mph). */
export function area(m2: number): string {
  if (units === "mph") {
    const acres = m2 / M2_PER_ACRE;
    return acres < ACRES_PER_SQ_MILE
      ? `${acres.toFixed(1)} acres`
      : `${(acres / ACRES_PER_SQ_MILE).toFixed(2)} mi²`;
  }
  if (m2 < 10_000) return `${Math.round(m2)} m²`;
  return m2 < 1_000_000 ? `${(m2 / 10_000).toFixed(1)} ha` : `${(m2 / 1_000_000).toFixed(2)} km²`;
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

/** The chosen units for a column header and for CSV exports (the API's `units`). */
export function unitLabels(): { distance: "km" | "mi"; speed: "km/h" | "mph"; api: "metric" | "imperial" } {
  return units === "mph"
    ? { distance: "mi", speed: "mph", api: "imperial" }
    : { distance: "km", speed: "km/h", api: "metric" };
}

/** Metres as the chosen unit's number (the column header names the unit). */
export function distanceValue(m: number, digits = 1): string {
  return (units === "mph" ? m / (KMH_PER_MPH * 1000) : m / 1000).toFixed(digits);
}

/** km/h as the chosen unit's number, "—" when unknown. */
export function speedValue(kmh: number | null | undefined): string {
  if (kmh === undefined || kmh === null) return "—";
  return (units === "mph" ? kmh / KMH_PER_MPH : kmh).toFixed(0);
}

/** Seconds as hours with one decimal: a report column in h. */
export const hoursValue = (s: number) => (s / 3600).toFixed(1);

/** `YYYY-MM-DD` of a time in the display zone. */
export function dayOf(t: Date): string {
  const p = Object.fromEntries(formatter.formatToParts(t).map((x) => [x.type, x.value]));
  return `${p.year}-${p.month}-${p.day}`;
}

/** The instant a day (`YYYY-MM-DD`) starts in the display zone: its midnight, whatever its offset. */
export function dayStart(day: string): Date {
  const [y, m, d] = day.split("-").map(Number) as [number, number, number];
  const guess = Date.UTC(y, m - 1, d);
  // the zone's offset at that instant, read back from how the formatter shows it
  const p = Object.fromEntries(formatter.formatToParts(new Date(guess)).map((x) => [x.type, x.value]));
  const shown = Date.UTC(
    Number(p.year),
    Number(p.month) - 1,
    Number(p.day),
    Number(p.hour),
    Number(p.minute),
  );
  return new Date(guess - (shown - guess));
}

/** The day after `YYYY-MM-DD`. */
export function nextDay(day: string): string {
  return new Date(Date.parse(`${day}T00:00:00Z`) + 86_400_000).toISOString().slice(0, 10);
}
