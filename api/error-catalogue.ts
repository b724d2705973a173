/**
 * Every error the HTTP API answers, by a stable `code` that clients can branch on (the message is
 * for people and may change or add detail). Part of the contract, as Fastify's own `FST_ERR_…`
 * codes are: add, never rename. The device-ingest reject reasons (core/reject-reasons.ts) are a
 * separate list; they describe a stored message, not an HTTP error, and share no code with this one.
 */
export const API_ERRORS = {
  E_VALIDATION: { status: 400, message: "a request field is invalid" },
  /** a device's fix refused by the bridge and kept in the dead letter: `reason` (core/reject-reasons.ts) says why */
  E_FIX_REJECTED: {
    status: 400,
    message: "the fix was rejected (see reason and detail); it is in the dead letter",
  },
  /** a request Fastify cannot read: a malformed JSON body, a Content-Length that does not match */
  E_BAD_REQUEST: { status: 400, message: "the request is malformed" },
  E_UNAUTHORIZED: { status: 401, message: "authentication required (session cookie or Bearer token)" },
  E_DEVICE_UNAUTHORIZED: {
    status: 401,
    message: "device credentials required (HTTP Basic: vehicle id and secret)",
  },
  E_LOGIN_FAILED: { status: 401, message: "wrong username or password" },
  /** an API token past its expiry (POST /api/tokens `expiresAt`): make a new one */
  E_TOKEN_EXPIRED: { status: 401, message: "the API token has expired" },
  /** OsmAnd / Traccar Client: the request's `id` (device_id) is no vehicle's current device key */
  E_DEVICE_KEY_REFUSED: { status: 403, message: "no, unknown or rotated device key (id)" },
  E_FORBIDDEN: { status: 403, message: "this role may not do this" },
  /** no route answers this method and path */
  E_ROUTE_NOT_FOUND: { status: 404, message: "no such route" },
  /** the route exists; the vehicle, geofence or command it names does not */
  E_NOT_FOUND: { status: 404, message: "no such resource" },
  E_ALREADY_EXISTS: { status: 409, message: "it exists already" },
  /** optimistic locking: the body carries `currentVersion` */
  E_VERSION_CONFLICT: { status: 409, message: "the version in If-Match is stale" },
  /** deleting something others still name (a notification channel used by alert rules: `rules`) */
  E_IN_USE: { status: 409, message: "it is still in use" },
  E_PAYLOAD_TOO_LARGE: { status: 413, message: "request body is too large" },
  E_UNSUPPORTED_MEDIA_TYPE: { status: 415, message: "unsupported media type" },
  E_TOO_MANY_POINTS: { status: 422, message: "the answer would hold too many points" },
  E_PRECONDITION_REQUIRED: { status: 428, message: "If-Match: <version> is required" },
  E_RATE_LIMITED: { status: 429, message: "rate limit exceeded; retry later" },
  /** too many failed logins for this username, from any address: Retry-After says when to try again */
  E_LOGIN_BACKOFF: { status: 429, message: "too many failed logins for this account; retry later" },
  /**
   * OsmAnd / Traccar Client: this source address sent too many refused device keys (a guessing
   * loop, or phones behind it set up with a wrong key); a key already known still passes
   */
  E_DEVICE_KEY_REFUSALS: {
    status: 429,
    message: "too many refused device keys from this address; retry later",
  },
  E_INTERNAL: { status: 500, message: "internal error" },
  E_UNAVAILABLE: { status: 503, message: "a service the API needs is unavailable; retry later" },
  /** PostgreSQL cancelled the query at API_STATEMENT_TIMEOUT_MS */
  E_QUERY_TIMEOUT: {
    status: 503,
    message:
      "the query ran past the API's statement timeout; ask for less (a shorter range, a smaller box) or retry later",
  },
  E_INGEST_UNAVAILABLE: { status: 503, message: "the ingest queue is unavailable; retry later" },
  E_UI_NOT_BUILT: { status: 503, message: "the web UI is not built: run `npm run build:ui`" },
} as const satisfies Record<string, { status: number; message: string }>;

export type ApiErrorCode = keyof typeof API_ERRORS;

export const API_ERROR_CODES = Object.keys(API_ERRORS) as [ApiErrorCode, ...ApiErrorCode[]];

/**
 * The code of an error Fastify or a plugin raised with only a status (a bad JSON body, a body
 * over the limit, @fastify/rate-limit's 429). A status not listed keeps its status and takes the
 * generic code of its class.
 */
const BY_STATUS: Record<number, ApiErrorCode> = {
  400: "E_BAD_REQUEST",
  401: "E_UNAUTHORIZED",
  403: "E_FORBIDDEN",
  404: "E_NOT_FOUND",
  413: "E_PAYLOAD_TOO_LARGE",
  415: "E_UNSUPPORTED_MEDIA_TYPE",
  429: "E_RATE_LIMITED",
  500: "E_INTERNAL",
  503: "E_UNAVAILABLE",
};

export function codeForStatus(status: number): ApiErrorCode {
  return BY_STATUS[status] ?? (status < 500 ? "E_BAD_REQUEST" : "E_INTERNAL");
}
