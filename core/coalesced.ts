/**
 * Runs `task` when triggered, one run at a time: triggers that come during a run cause exactly one
 * more run after it, not one each (a burst of "access changed" announcements costs two re-reads).
 * A failing run is handed to `onError`; the next trigger runs again.
 */
export function coalesced(task: () => Promise<void>, onError: (err: unknown) => void) {
  let running: Promise<void> | undefined;
  let again = false;
  const trigger = (): void => {
    if (running) {
      again = true;
      return;
    }
    running = task()
      .catch(onError)
      .finally(() => {
        running = undefined;
        if (again) {
          again = false;
          trigger();
        }
      });
  };
  return { trigger, settled: (): Promise<void> => running ?? Promise.resolve() };
}
