import { clientIdFor } from "../../core/client-id.ts";

/** A client id naming the account `name`, unique per call: the broker refuses an id naming no account of the credential (core/client-id.ts). */
export function clientIdOf(name: string): string {
  return clientIdFor(name, Math.random().toString(36).slice(2, 10));
}

/** mqtt.js options with a client id naming their username, unless the caller chose one (or there is no username). */
export function withClientId<T extends { username?: string | undefined; clientId?: string | undefined }>(
  opts: T,
): T {
  return opts.username && opts.clientId === undefined
    ? { ...opts, clientId: clientIdOf(opts.username) }
    : opts;
}
