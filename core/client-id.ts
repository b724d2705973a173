/**
 * Which MQTT client ids an account may use. A broker keys sessions by client id: a CONNECT with an
 * id that is live, or has a stored session, takes that session over (the other connection is closed,
 * and with clean session off its queued messages go to the newcomer). So an id names its account:
 *   - the account's name (vehicle id or integration name), or that name, `:` and anything, so that
 *     one account may hold several connections (`truck-7:sim`, `truck-7:listen`);
 *   - for a device, its registered IMEI the same way (Teltonika modems often use it);
 *   - or empty with clean session on: the broker assigns a random one.
 * `:` cannot appear in a name (core/topics.ts VEHICLE_ID_RE), so one account's ids can never be
 * another's. The broker refuses any other id with CONNACK 2 (broker/hooks/authenticate.ts).
 */
export const CLIENT_ID_SEPARATOR = ":";

/** The client id for a connection of `name`: the name alone, or with a suffix of the caller's. */
export function clientIdFor(name: string, suffix?: string): string {
  return suffix === undefined ? name : `${name}${CLIENT_ID_SEPARATOR}${suffix}`;
}

/** The account a client id names: the part before its first `:`. */
export function clientIdOwner(clientId: string): string {
  const at = clientId.indexOf(CLIENT_ID_SEPARATOR);
  return at === -1 ? clientId : clientId.slice(0, at);
}

/** Whether `clientId` names one of `names` (an account's name and, for a device, its IMEI). */
export function clientIdNames(clientId: string, names: readonly (string | null | undefined)[]): boolean {
  const owner = clientIdOwner(clientId);
  return owner !== "" && names.includes(owner);
}
