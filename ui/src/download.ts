import { ApiError } from "./api.ts";

/** Saves a blob under a name, as a download the browser runs (no new tab). */
export function saveBlob(blob: Blob, name: string): void {
  const href = URL.createObjectURL(blob);
  const a = document.createElement("a");
  a.href = href;
  a.download = name;
  document.body.append(a);
  a.click();
  a.remove();
  // after the click has handed the blob to the download; revoking at once can cancel it
  setTimeout(() => URL.revokeObjectURL(href), 10_000);
}

/**
 * A file from the API saved through fetch → blob, not a plain `<a download>` link: a link that
 * gets an error answer is cancelled silently by the browser, while this throws the API's error
 * (an ApiError, for errorText) so the page can say what went wrong.
 */
export async function downloadFile(url: string, fallbackName: string): Promise<void> {
  const res = await fetch(url, { credentials: "same-origin" });
  if (!res.ok) {
    const text = await res.text();
    let body: Record<string, unknown> = {};
    try {
      body = JSON.parse(text) as Record<string, unknown>;
    } catch {
      body = { message: text };
    }
    const message = typeof body.message === "string" && body.message ? body.message : `${res.status}`;
    throw new ApiError(res.status, message, body);
  }
  saveBlob(await res.blob(), fileName(res.headers.get("content-disposition")) ?? fallbackName);
}

function fileName(disposition: string | null): string | undefined {
  const m = disposition ? /filename="?([^";]+)"?/i.exec(disposition) : null;
  return m?.[1];
}
