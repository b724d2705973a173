import { ApiError } from "./api.ts";

/** Saves a blob under a name, as a download the browser runs (no new tab). */
export function saveBlob(blob: Blob, name: string): void {
  const url = URL.createObjectURL(blob);
  const a = document.createElement("a");
  a.href = url;
  a.download = name;
  a.click();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

/**
 * Downloads a file the API makes: fetched first, then saved, so a refusal or an outage is an
 * ApiError the page shows, not a download the browser cancels silently (as a plain link's would be).
 */
export async function downloadFile(url: string, name: string): Promise<void> {
  const res = await fetch(url, { credentials: "same-origin" });
  if (!res.ok) {
    const body = (await res.json().catch(() => ({}))) as Record<string, unknown>;
    const message = typeof body.message === "string" ? body.message : `${res.status} ${res.statusText}`;
    throw new ApiError(res.status, message, body);
  }
  saveBlob(await res.blob(), name);
}
