import { useState } from "react";
import { alertsApi, type NotificationChannel } from "../alerts-api.ts";
import { errorText } from "../error-text.ts";
import { ChannelForm } from "./channel-form.tsx";
import { ChannelSecret, newSecret } from "./channel-secret.tsx";
import { DeliveryLog } from "./delivery-log.tsx";

/**
 * Notification channels: everyone sees them and their delivery logs; admins create, enable or
 * disable, rotate a webhook's secret (shown once), delete (refused while rules use the channel:
 * the confirm names them), and "send test" (which queues a test message and opens the log).
 */
export function ChannelsPanel(props: {
  channels: NotificationChannel[];
  /** rule names by channel id: who uses it */
  usedBy: (channelId: number) => string[];
  canEdit: boolean;
  reload: () => Promise<void>;
}) {
  const [rotated, setRotated] = useState<{ name: string; secret: string } | undefined>();
  const [creating, setCreating] = useState(false);
  const [openLog, setOpenLog] = useState<number | undefined>();
  const [error, setError] = useState<string | undefined>();
  const [notice, setNotice] = useState<string | undefined>();

  const act = async (what: () => Promise<unknown>, done?: string) => {
    setError(undefined);
    setNotice(undefined);
    try {
      await what();
      if (done) setNotice(done);
    } catch (err) {
      setError(errorText(err));
    }
    await props.reload();
  };

  const sendTest = (c: NotificationChannel) =>
    act(async () => {
      await alertsApi.sendTest(c.id);
      setOpenLog(c.id);
    }, `Test message queued for "${c.name}": watch its delivery log.`);

  const remove = (c: NotificationChannel) => {
    const rules = props.usedBy(c.id);
    if (rules.length > 0) {
      window.alert(
        `Channel "${c.name}" is used by the alert rules ${rules.map((r) => `"${r}"`).join(", ")}: remove it from them first (Alerts → Rules → Edit).`,
      );
      return;
    }
    if (!window.confirm(`Delete channel "${c.name}" and its delivery log? No rule uses it.`)) return;
    void act(() => alertsApi.deleteChannel(c.id));
  };

  const rotate = (c: NotificationChannel) => {
    if (
      !window.confirm(
        `Give "${c.name}" a new secret? The receiver must be given it: the old one stops working.`,
      )
    )
      return;
    const secret = newSecret();
    void act(async () => {
      await alertsApi.rotateSecret(c.id, secret);
      setRotated({ name: c.name, secret });
    });
  };

  return (
    <section aria-label="notification channels">
      {props.canEdit && !creating && (
        <button type="button" onClick={() => setCreating(true)}>
          New channel
        </button>
      )}
      {!props.canEdit && <p className="muted">Only administrators can change notification channels.</p>}
      {creating && <ChannelForm onCreated={() => void props.reload()} onDone={() => setCreating(false)} />}
      {rotated && (
        <ChannelSecret
          title={`New secret of "${rotated.name}"`}
          secret={rotated.secret}
          onDone={() => setRotated(undefined)}
        />
      )}
      {error && (
        <p className="error" role="alert">
          {error}
        </p>
      )}
      {notice && <output className="ok">{notice}</output>}
      <ul className="list" aria-label="channels">
        {props.channels.map((c) => (
          <li key={c.id} data-testid="channel-row" data-channel-name={c.name} className="channel">
            <div className="item">
              <div className="item-main">
                <strong className="wrap">{c.name}</strong>{" "}
                <span className="muted">{c.kind === "webhook" ? "webhook" : "e-mail"}</span>
                {!c.enabled && <span className="status status-inactive">disabled</span>}
                <div className="muted">{c.kind === "webhook" ? c.url : c.to?.join(", ")}</div>
                {c.kind === "webhook" && <div className="muted">secret {c.secret}</div>}
              </div>
            </div>
            <div className="row">
              <button
                type="button"
                className="link"
                aria-expanded={openLog === c.id}
                onClick={() => setOpenLog(openLog === c.id ? undefined : c.id)}
              >
                {openLog === c.id ? "Hide" : "Show"} delivery log<span className="sr-only"> of {c.name}</span>
              </button>
              {props.canEdit && (
                <>
                  <button type="button" className="link" onClick={() => void sendTest(c)}>
                    Send test<span className="sr-only"> to {c.name}</span>
                  </button>
                  <button
                    type="button"
                    className="link"
                    onClick={() => void act(() => alertsApi.setChannelEnabled(c.id, !c.enabled))}
                  >
                    {c.enabled ? "Disable" : "Enable"}
                    <span className="sr-only"> {c.name}</span>
                  </button>
                  {c.kind === "webhook" && (
                    <button type="button" className="link" onClick={() => rotate(c)}>
                      Rotate secret<span className="sr-only"> of {c.name}</span>
                    </button>
                  )}
                  <button type="button" className="link danger" onClick={() => remove(c)}>
                    Delete<span className="sr-only"> {c.name}</span>
                  </button>
                </>
              )}
            </div>
            {openLog === c.id && <DeliveryLog channelId={c.id} channelName={c.name} />}
          </li>
        ))}
      </ul>
      {props.channels.length === 0 && !creating && <p className="muted">No notification channels yet.</p>}
    </section>
  );
}
