import { useEffect, useState } from "react";
import type { FleetStore } from "./fleet-store.ts";

/**
 * The store's version, but re-rendering at most every `intervalMs`: panels (lists, details)
 * follow the live data at a human pace while the canvas follows it every frame.
 */
export function useStoreVersion(store: FleetStore, intervalMs: number): number {
  const [version, setVersion] = useState(store.version);
  useEffect(() => {
    let timer: ReturnType<typeof setTimeout> | undefined;
    let last = 0;
    const update = () => {
      timer = undefined;
      last = Date.now();
      setVersion(store.version);
    };
    const unsubscribe = store.subscribe(() => {
      if (timer !== undefined) return;
      timer = setTimeout(update, Math.max(0, last + intervalMs - Date.now()));
    });
    return () => {
      unsubscribe();
      clearTimeout(timer);
    };
  }, [store, intervalMs]);
  return version;
}

/** Re-renders every `intervalMs` (for "last seen 5s ago" and staleness). */
export function useNow(intervalMs: number): number {
  const [now, setNow] = useState(Date.now);
  useEffect(() => {
    const t = setInterval(() => setNow(Date.now()), intervalMs);
    return () => clearInterval(t);
  }, [intervalMs]);
  return now;
}
