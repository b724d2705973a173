import { useState } from "react";

/**
 * A webhook's signing secret, shown once (at creation or after a rotation): the API answers it in
 * full only then. Selectable, with a Copy button (the clipboard needs a secure context; elsewhere
 * the text is selected for Ctrl+C).
 */
export function ChannelSecret(props: { title: string; secret: string; onDone: () => void }) {
  const [copied, setCopied] = useState(false);
  const copy = async (e: React.MouseEvent<HTMLButtonElement>) => {
    const input = e.currentTarget.parentElement?.querySelector("input");
    try {
      await navigator.clipboard.writeText(props.secret);
      setCopied(true);
    } catch {
      input?.select();
    }
  };
  return (
    <section className="card" aria-label="channel secret" data-testid="channel-secret">
      <h3 className="wrap">{props.title}</h3>
      <p>
        Its signing secret is shown <strong>only now</strong>: copy it into the receiver, which checks the{" "}
        <code>X-Logitrack-Signature</code> header with it.
      </p>
      <div className="row">
        <label>
          Secret
          <input readOnly value={props.secret} onFocus={(e) => e.target.select()} />
        </label>
        <button type="button" onClick={copy}>
          {copied ? "Copied" : "Copy"}
          <span className="sr-only"> the secret</span>
        </button>
      </div>
      <button type="button" onClick={props.onDone}>
        I have copied it
      </button>
    </section>
  );
}

/** A new secret for a rotation: 32 random bytes, hex (the API wants 16 to 256 characters). */
export function newSecret(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(32));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}
