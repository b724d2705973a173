import { useCallback, useEffect, useMemo, useRef, useState } from "react";
import { api, type LivePosition, type Vehicle } from "./api.ts";
import type { FleetStore } from "./fleet-store.ts";
import { useStoreVersion } from "./use-store-version.ts";
import { naturalCompare } from "./vehicle-state.ts";

const REFRESH_MS = 30_000;

export interface VehicleView extends Vehicle {
  /** the newer of the REST answer's live state and the WebSocket's */
  position: LivePosition | null;
  /** when it went online or offline, as far as known (epoch ms) */
  presenceSince: number | null;
}

/**
 * The registry (GET /api/vehicles, every vehicle, not only those on screen) joined with the
 * live positions. Reloaded every 30 s, and soon after the WebSocket shows a vehicle the list
 * does not know yet (registered since the last load).
 */
export function useVehicles(store: FleetStore) {
  const [vehicles, setVehicles] = useState<Vehicle[]>([]);
  const [error, setError] = useState<string | undefined>();
  const [loaded, setLoaded] = useState(false);
  const version = useStoreVersion(store, 1000);
  const loading = useRef(false);
  const lastLoad = useRef(0);

  const reload = useCallback(async () => {
    if (loading.current) return;
    loading.current = true;
    lastLoad.current = Date.now();
    try {
      // natural order (truck-2 before truck-10): the list shows them so, and the views keep it
      setVehicles((await api.vehicles()).sort((a, b) => naturalCompare(a.id, b.id)));
      setError(undefined);
      setLoaded(true);
    } catch (err) {
      setError(String(err));
    } finally {
      loading.current = false;
    }
  }, []);

  useEffect(() => {
    void reload();
    const t = setInterval(reload, REFRESH_MS);
    return () => clearInterval(t);
  }, [reload]);

  // biome-ignore lint/correctness/useExhaustiveDependencies: version marks a store change
  const views = useMemo<VehicleView[]>(
    () =>
      vehicles.map((v) => {
        const ws = store.positions.get(v.id);
        const position = ws && (!v.live || ws.recordedAt >= v.live.recordedAt) ? ws : v.live;
        // a presence change heard on /ws after the list's own state wins
        const heard = store.presence.get(v.id);
        const known = Math.max(Date.parse(v.onlineSince ?? ""), Date.parse(v.lastSeenAt ?? "")) || 0;
        const live = heard !== undefined && heard.at >= known;
        const online = live ? heard.online : v.online;
        const since = live ? heard.at : Date.parse((v.online ? v.onlineSince : v.lastSeenAt) ?? "");
        return { ...v, position, online, presenceSince: Number.isNaN(since) ? null : since };
      }),
    [vehicles, store, version],
  );

  const known = useMemo(() => new Set(vehicles.map((v) => v.id)), [vehicles]);
  // biome-ignore lint/correctness/useExhaustiveDependencies: version marks a store change
  useEffect(() => {
    if (!loaded) return;
    let unknown = false;
    for (const id of store.positions.keys()) {
      if (!known.has(id)) {
        unknown = true;
        break;
      }
    }
    if (!unknown) return;
    // at most one extra load every 3 s, however many unknown vehicles keep arriving
    const t = setTimeout(() => void reload(), Math.max(0, lastLoad.current + 3000 - Date.now()));
    return () => clearTimeout(t);
  }, [version, known, loaded, reload, store]);

  const replace = useCallback((v: Vehicle) => {
    setVehicles((list) => list.map((x) => (x.id === v.id ? v : x)));
  }, []);

  return { vehicles: views, error, loaded, reload, replace };
}
