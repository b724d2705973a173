import { type FormEvent, useState } from "react";
import { alertsApi, type NotificationChannel } from "../alerts-api.ts";
import { errorText } from "../error-text.ts";
import { ChannelSecret } from "./channel-secret.tsx";

const LABELS: Record<string, string> = {
  "body.name": "Name",
  "body.url": "URL",
  "body.secret": "Secret",
  "body.to": "Recipients",
  "body.to[]": "Recipient",
};

/**
 * A new webhook or e-mail channel. A webhook's secret (given or generated) is answered in full only
 * by the creation, so it is shown here once, to be copied into the receiver; the list shows the
 * channel at once (`onCreated`), before the secret is put away.
 */
export function ChannelForm(props: {
  onCreated: (created: NotificationChannel) => void;
  onDone: (created: NotificationChannel | undefined) => void;
}) {
  const [kind, setKind] = useState<"webhook" | "email">("webhook");
  const [name, setName] = useState("");
  const [url, setUrl] = useState("");
  const [secret, setSecret] = useState("");
  const [to, setTo] = useState("");
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | undefined>();
  const [created, setCreated] = useState<NotificationChannel | undefined>();

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setBusy(true);
    setError(undefined);
    const common = name.trim() ? { name: name.trim() } : {};
    try {
      const c = await alertsApi.createChannel(
        kind === "webhook"
          ? { kind, ...common, url: url.trim(), ...(secret ? { secret } : {}) }
          : {
              kind,
              ...common,
              to: to
                .split(/[,;\s]+/)
                .map((s) => s.trim())
                .filter(Boolean),
            },
      );
      props.onCreated(c);
      if (c.kind === "webhook") setCreated(c);
      else props.onDone(c);
    } catch (err) {
      setError(errorText(err, LABELS));
    } finally {
      setBusy(false);
    }
  };

  if (created)
    return (
      <ChannelSecret
        title={`Webhook "${created.name}" created`}
        secret={created.secret ?? ""}
        onDone={() => props.onDone(created)}
      />
    );

  return (
    <form className="card edit-form" onSubmit={submit} aria-label="new channel">
      <h3>New notification channel</h3>
      <fieldset disabled={busy}>
        <label>
          Type
          <select value={kind} onChange={(e) => setKind(e.target.value as "webhook" | "email")}>
            <option value="webhook">Webhook</option>
            <option value="email">E-mail</option>
          </select>
        </label>
        <label>
          Name (optional) — up to 100 characters
          <input value={name} onChange={(e) => setName(e.target.value)} maxLength={100} />
        </label>
        {kind === "webhook" ? (
          <>
            <label>
              URL
              <input
                type="url"
                value={url}
                onChange={(e) => setUrl(e.target.value)}
                required
                placeholder="https://example.com/hooks/logitrack"
              />
            </label>
            <label>
              Secret (optional: generated when empty; at least 16 characters)
              <input value={secret} onChange={(e) => setSecret(e.target.value)} autoComplete="off" />
            </label>
          </>
        ) : (
          <label>
            Recipients (e-mail addresses, separated by commas)
            <input value={to} onChange={(e) => setTo(e.target.value)} required />
          </label>
        )}
        {error && (
          <p className="error" role="alert" data-testid="channel-error">
            {error}
          </p>
        )}
        <div className="row">
          <button type="submit">Create channel</button>
          <button type="button" onClick={() => props.onDone(undefined)}>
            Cancel
          </button>
        </div>
      </fieldset>
    </form>
  );
}
