import { ApiError } from "./api.ts";

/**
 * What went wrong, in words for the person at the form: the API names fields as request paths
 * (`body.params.limitKmh: Too big: expected number to be <=400`), which `labels` turns into the
 * form's own labels ("Speed limit (km/h) must be at most 400.").
 */
export function errorText(err: unknown, labels: Record<string, string> = {}): string {
  if (!(err instanceof ApiError))
    return err instanceof TypeError
      ? "The server could not be reached. Check the connection and try again."
      : String(err instanceof Error ? err.message : err);
  switch (err.code) {
    case "E_VALIDATION":
      return validationText(err, labels);
    case "E_FORBIDDEN":
      return "Only an administrator can make this change.";
    case "E_UNAUTHORIZED":
      return "Your session has ended. Log in again.";
    case "E_VERSION_CONFLICT":
      return "Someone else changed this meanwhile, so nothing was saved. Load their version and make your change again.";
    case "E_NOT_FOUND":
      return "It no longer exists: someone may have deleted it. Refresh the list.";
    case "E_RATE_LIMITED":
      return "Too many requests just now. Wait a moment and try again.";
    case "E_UNAVAILABLE":
      return "The service needed for this is unavailable right now. Try again in a moment.";
    default:
      return err.status >= 500
        ? `The server failed to do this (error ${err.status}). Try again later.`
        : err.message;
  }
}

function validationText(err: ApiError, labels: Record<string, string>): string {
  const field = typeof err.body.field === "string" ? err.body.field : undefined;
  const reason = typeof err.body.reason === "string" ? err.body.reason : undefined;
  const detail =
    field && err.message.startsWith(`${field}: `) ? err.message.slice(field.length + 2) : err.message;
  const label = field ? labelOf(field, labels) : "A value";
  return `${label} ${reason ? `is refused: ${reason}` : humanReason(detail)}.`;
}

/** The form's label for a field path; list items (`body.to.1`) read as "Recipient 2". */
function labelOf(field: string, labels: Record<string, string>): string {
  if (labels[field]) return labels[field];
  const item = /^(.*)\.(\d+)$/.exec(field);
  if (item?.[1] && labels[`${item[1]}[]`]) return `${labels[`${item[1]}[]`]} ${Number(item[2]) + 1}`;
  const last = field.split(".").pop() ?? field;
  const words = last.replace(/([a-z])([A-Z])/g, "$1 $2").toLowerCase();
  return words.charAt(0).toUpperCase() + words.slice(1);
}

/** zod's messages, as a sentence's predicate. */
function humanReason(detail: string): string {
  const text = detail.replace(/ \(for kind \w+\)$/, "");
  const bound = /^Too (big|small): expected (\w+) to (?:be|have) ([<>]=?)(-?[\d.]+)(?: (\w+))?/.exec(text);
  if (bound) {
    const [, , type, op, n, unit] = bound;
    const words = { "<=": "at most", "<": "less than", ">=": "at least", ">": "more than" }[op as "<"];
    if ((type === "string" || type === "array") && op === ">=" && n === "1") return "is required";
    if (type === "string") return `must have ${words} ${n} ${unit ?? "characters"}`;
    if (type === "array") return `must have ${words} ${n} entries`;
    return `must be ${words} ${n}`;
  }
  if (/expected (number|int), received (string|undefined|null)/.test(text)) return "must be a number";
  if (/expected int, received number/.test(text)) return "must be a whole number";
  if (/received undefined/.test(text)) return "is required";
  if (/^Invalid email/.test(text)) return "is not a valid e-mail address";
  // the API's range checks (api/time-range.ts) speak of the other field by its name, `from`
  const span = /^the range may span at most (\d+) days$/.exec(text);
  if (span) return `may be at most ${span[1]} days after the start`;
  if (/^must (not )?be (after|before) from$/.test(text)) return text.replace(/from$/, "the start");
  if (text === "HH:MM") return "must be a time such as 22:00";
  return `is not valid: ${text}`;
}
