import { useCallback, useEffect, useState } from "react";
import { errorText } from "./admin-api.ts";

/** A list the admin screens show: loaded on mount, reloaded after each change, its error in words. */
export function useAdminList<T>(load: () => Promise<T[]>) {
  const [items, setItems] = useState<T[]>([]);
  const [error, setError] = useState<string | undefined>();
  const reload = useCallback(async () => {
    try {
      setItems(await load());
    } catch (err) {
      setError(errorText(err));
    }
  }, [load]);
  useEffect(() => {
    void reload();
  }, [reload]);

  /** Runs a change, shows its failure, then reloads either way. */
  const act = useCallback(
    async (what: () => Promise<void>) => {
      setError(undefined);
      try {
        await what();
      } catch (err) {
        setError(errorText(err));
      }
      await reload();
    },
    [reload],
  );
  return { items, error, reload, act };
}
