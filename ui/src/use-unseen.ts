import { useEffect, useState } from "react";
import type { FleetEvent } from "./api.ts";

/**
 * How many geofence events arrived on /ws since the events view was last open: the events tab's
 * badge. Event ids grow with each event written (one sequence), so "newer than the newest seen"
 * is "new"; a retraction is not a new event.
 */
export function useUnseen(events: FleetEvent[], viewing: boolean): number {
  const [seen, setSeen] = useState(0);
  const newest = events.reduce((m, e) => (e.retracted ? m : Math.max(m, e.id)), 0);
  useEffect(() => {
    if (viewing) setSeen((s) => Math.max(s, newest));
  }, [viewing, newest]);
  return viewing ? 0 : events.filter((e) => !e.retracted && e.id > seen).length;
}
