import type { VehicleSecret } from "../admin-api.ts";
import { CopyValue } from "./copy-value.tsx";

/**
 * A device secret, shown once (after adding a vehicle or rotating its secret), with the
 * connection settings of each enabled way in. Nothing here is kept once the panel closes.
 */
export function VehicleSecretPanel(props: { secret: VehicleSecret; onDone: () => void }) {
  const { credentials, connections, mqtt } = props.secret;
  return (
    <section className="card secret" data-testid="vehicle-secret" aria-label="device secret">
      <h3>Device secret for {credentials.username}</h3>
      <p className="warn" role="note">
        Copy it now: it is shown only this once. Rotate the secret if it is lost.
      </p>
      <CopyValue label="Username" value={credentials.username} testId="secret-username" />
      <CopyValue label="Password" value={credentials.password} testId="secret-password" />
      {connections.map((c) => (
        <details key={c.kind} open={c.kind === "mqtt"} data-testid={`connection-${c.kind}`}>
          <summary>{c.label}</summary>
          <CopyValue
            label={c.kind === "osmand" ? "Server URL" : "Address"}
            value={c.url}
            testId={`connection-${c.kind}-url`}
          />
          {c.settings.map((s) =>
            // Traccar Client's device identifier is the device key, which the API names only beside the secret
            c.kind === "osmand" && s.name === "Device identifier" && credentials.deviceKey ? (
              <CopyValue
                key={s.name}
                label={s.name}
                value={credentials.deviceKey}
                testId="connection-osmand-key"
              />
            ) : (
              <CopyValue key={s.name} label={s.name} value={s.value} />
            ),
          )}
        </details>
      ))}
      <details>
        <summary>Test from a shell (mosquitto_pub)</summary>
        <CopyValue label="Command" value={mqtt.example} />
      </details>
      <button type="button" onClick={props.onDone}>
        Done, I have copied it
      </button>
    </section>
  );
}
