/**
 * Wall-clock times in a named IANA zone (the fleet's or the viewer's, format.ts displayZone),
 * not the browser's: `<input type="datetime-local">` values and the start of a day there.
 */
/** A wall-clock time to the second, 24 h (format.ts adds the zone's name for display). */
export const WALL_CLOCK: Intl.DateTimeFormatOptions = {
  year: "numeric",
  month: "2-digit",
  day: "2-digit",
  hour: "2-digit",
  minute: "2-digit",
  second: "2-digit",
  hourCycle: "h23",
};

const formatters = new Map<string, Intl.DateTimeFormat>();

function partsIn(d: Date, zone: string): Record<string, number> {
  let f = formatters.get(zone);
  if (!f) {
    f = new Intl.DateTimeFormat("en-GB", { ...WALL_CLOCK, timeZone: zone });
    formatters.set(zone, f);
  }
  const out: Record<string, number> = {};
  for (const p of f.formatToParts(d)) if (p.type !== "literal") out[p.type] = Number(p.value);
  return out;
}

/** How far the zone's wall clock is ahead of UTC at that instant, in ms. */
function offsetMs(d: Date, zone: string): number {
  const p = partsIn(d, zone);
  const wall = Date.UTC(
    p.year ?? 0,
    (p.month ?? 1) - 1,
    p.day ?? 1,
    p.hour ?? 0,
    p.minute ?? 0,
    p.second ?? 0,
  );
  return wall - Math.floor(d.getTime() / 1000) * 1000;
}

/** The instant a wall-clock time (year, month 1-12, day, hour, minute) names in the zone. */
function fromWall(zone: string, y: number, mo: number, d: number, h = 0, mi = 0): Date {
  const wall = Date.UTC(y, mo - 1, d, h, mi);
  // twice: the offset at the guess can differ from the one at the answer across a DST change
  let t = wall - offsetMs(new Date(wall), zone);
  t = wall - offsetMs(new Date(t), zone);
  return new Date(t);
}

const pad = (n: number | undefined) => String(n ?? 0).padStart(2, "0");

/** `YYYY-MM-DDTHH:MM`, the instant's wall-clock time in the zone. */
export function toZoneInput(d: Date, zone: string): string {
  if (Number.isNaN(d.getTime())) return "";
  const p = partsIn(d, zone);
  return `${p.year}-${pad(p.month)}-${pad(p.day)}T${pad(p.hour)}:${pad(p.minute)}`;
}

/** The instant an input's `YYYY-MM-DDTHH:MM` names in the zone; Invalid Date for anything else. */
export function fromZoneInput(value: string, zone: string): Date {
  const m = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})/.exec(value);
  if (!m) return new Date(Number.NaN);
  const [y, mo, d, h, mi] = m.slice(1).map(Number) as [number, number, number, number, number];
  return fromWall(zone, y, mo, d, h, mi);
}

/** Midnight in the zone `daysBack` days before the day `now` falls on there. */
export function dayStart(now: Date, zone: string, daysBack = 0): Date {
  const p = partsIn(now, zone);
  // Date.UTC carries a day of 0 or less into the month before
  const day = new Date(Date.UTC(p.year ?? 0, (p.month ?? 1) - 1, (p.day ?? 1) - daysBack));
  return fromWall(zone, day.getUTCFullYear(), day.getUTCMonth() + 1, day.getUTCDate());
}
