import type { ConnectionState } from "../use-live-fleet.ts";
import { useNow } from "../use-store-version.ts";

const LABELS: Record<ConnectionState, string> = {
  connecting: "Connecting…",
  live: "Live",
  reconnecting: "Reconnecting",
};

export function ConnectionBadge(props: { state: ConnectionState; retryAt: number | undefined }) {
  const now = useNow(1000);
  const wait = props.retryAt === undefined ? 0 : Math.max(0, Math.ceil((props.retryAt - now) / 1000));
  return (
    <output className={`badge badge-${props.state}`} data-testid="connection-state" data-state={props.state}>
      {LABELS[props.state]}
      {props.state === "reconnecting" && wait > 0 ? ` in ${wait}s` : ""}
    </output>
  );
}
