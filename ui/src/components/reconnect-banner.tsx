import type { ConnectionState } from "../use-live-fleet.ts";
import { useNow } from "../use-store-version.ts";

/** Over the map while the live socket is down: what the map shows is not live, and a way to try now. */
export function ReconnectBanner(props: {
  state: ConnectionState;
  retryAt: number | undefined;
  onRetry: () => void;
}) {
  const now = useNow(1000);
  if (props.state !== "reconnecting") return null;
  const wait = props.retryAt === undefined ? 0 : Math.max(0, Math.ceil((props.retryAt - now) / 1000));
  return (
    <div className="reconnect-banner" role="alert" data-testid="reconnect-banner">
      <span>
        Live updates lost: positions are last known.
        {wait > 0 ? ` Reconnecting in ${wait}s.` : " Reconnecting…"}
      </span>
      <button type="button" onClick={props.onRetry}>
        Retry now
      </button>
    </div>
  );
}
