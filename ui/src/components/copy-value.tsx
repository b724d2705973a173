import { useState } from "react";

/**
 * A value to copy into a device or a script: selectable text and a Copy button. The clipboard
 * needs a secure context (https or localhost); elsewhere the text is selected for Ctrl+C.
 */
export function CopyValue(props: { label: string; value: string; testId?: string }) {
  const [copied, setCopied] = useState(false);
  const copy = async (e: React.MouseEvent<HTMLButtonElement>) => {
    const code = e.currentTarget.previousElementSibling;
    try {
      await navigator.clipboard.writeText(props.value);
      setCopied(true);
      setTimeout(() => setCopied(false), 1500);
    } catch {
      if (code) window.getSelection()?.selectAllChildren(code);
    }
  };
  return (
    <div className="copy-value">
      <span className="copy-label">{props.label}</span>
      <code data-testid={props.testId}>{props.value}</code>
      <button type="button" onClick={copy} aria-label={`copy ${props.label}`}>
        {copied ? "Copied" : "Copy"}
      </button>
    </div>
  );
}
