import { lookup as dnsLookup, type LookupAddress } from "node:dns";
import { BlockList, isIP } from "node:net";

/**
 * SSRF guard for webhook channels. A webhook URL is chosen by an admin but fetched by the worker
 * from inside the deployment, next to PostgreSQL, Redis and a cloud's metadata service: unless
 * WEBHOOK_ALLOW_PRIVATE, it may only be http(s) to public addresses. The API checks when a channel
 * is saved; the worker checks again at every connection (worker/notify/webhook.ts), because DNS
 * may answer differently later: `guardedLookup` resolves, checks, and hands the socket the checked
 * address, so the address connected to is the one checked (no second resolution to rebind).
 */
const FORBIDDEN = new BlockList();
for (const [net, bits] of [
  ["0.0.0.0", 8], // "this network"
  ["10.0.0.0", 8],
  ["100.64.0.0", 10], // carrier-grade NAT
  ["127.0.0.0", 8],
  ["169.254.0.0", 16], // link-local, cloud metadata (169.254.169.254)
  ["172.16.0.0", 12],
  ["192.0.0.0", 24],
  ["192.0.2.0", 24],
  ["192.168.0.0", 16],
  ["198.18.0.0", 15],
  ["198.51.100.0", 24],
  ["203.0.113.0", 24],
  ["224.0.0.0", 4], // multicast
  ["240.0.0.0", 4], // reserved, broadcast
] as const)
  FORBIDDEN.addSubnet(net, bits, "ipv4");
// IPv4-mapped IPv6 (::ffff:127.0.0.1) is matched by the IPv4 rules above (net.BlockList)
for (const [net, bits] of [
  ["::", 128],
  ["::1", 128],
  // forms that carry an IPv4 address inside (and so reach 127.0.0.1 or 10.x where routed):
  ["::", 96], // IPv4-compatible (deprecated)
  ["64:ff9b::", 96], // NAT64, well-known prefix
  ["64:ff9b:1::", 48], // NAT64, local use
  ["2002::", 16], // 6to4
  ["2001::", 32], // Teredo
  ["100::", 64], // discard
  ["2001:db8::", 32], // documentation
  ["fc00::", 7], // unique-local
  ["fe80::", 10], // link-local
  ["fec0::", 10], // site-local (deprecated)
  ["ff00::", 8], // multicast
] as const)
  FORBIDDEN.addSubnet(net, bits, "ipv6");

export class WebhookAddressError extends Error {
  override name = "WebhookAddressError";
  readonly code = "E_WEBHOOK_ADDRESS";
}

/** True for an address a webhook may not reach without WEBHOOK_ALLOW_PRIVATE. */
export function isForbiddenAddress(address: string): boolean {
  const family = isIP(address);
  if (family === 0) return true;
  return FORBIDDEN.check(address, family === 4 ? "ipv4" : "ipv6");
}

/** The host of a URL as an IP literal, without IPv6 brackets; undefined for a name. */
function ipLiteral(url: URL): string | undefined {
  const host = url.hostname.replace(/^\[(.*)\]$/, "$1");
  return isIP(host) ? host : undefined;
}

/**
 * Parses a webhook URL: http or https, no credentials (they would be logged and shown), and an IP
 * literal host must be public. Throws WebhookAddressError with the reason.
 */
export function parseWebhookUrl(raw: string, allowPrivate: boolean): URL {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new WebhookAddressError("not a URL");
  }
  if (url.protocol !== "http:" && url.protocol !== "https:")
    throw new WebhookAddressError(`scheme ${url.protocol} is not allowed (http or https)`);
  if (url.username || url.password) throw new WebhookAddressError("credentials in the URL are not allowed");
  const literal = ipLiteral(url);
  if (!allowPrivate && literal !== undefined && isForbiddenAddress(literal))
    throw new WebhookAddressError(`${literal} is a private, loopback or link-local address`);
  return url;
}

/** A resolver answering every address of a name (dns.lookup with `all`). */
export type Lookup = (
  hostname: string,
  callback: (err: Error | null, addresses: LookupAddress[]) => void,
) => void;
const lookupAll: Lookup = (hostname, callback) => dnsLookup(hostname, { all: true }, callback);

function refused(hostname: string, addresses: LookupAddress[]): WebhookAddressError | undefined {
  const bad = addresses.find((a) => isForbiddenAddress(a.address));
  return bad
    ? new WebhookAddressError(
        `${hostname} resolves to ${bad.address}, a private, loopback or link-local address`,
      )
    : undefined;
}

/** Why a name did not resolve, in words (not the resolver's errno text). */
function unresolved(err: NodeJS.ErrnoException): string {
  return err.code === "ENOTFOUND" || err.code === "ENODATA"
    ? "the host name does not resolve"
    : "the host name could not be resolved now; try again";
}

/**
 * The API's check when a channel is saved: the URL parses and every address its host resolves to
 * is public (one private answer is enough to refuse: a resolver may return either).
 */
export async function checkWebhookUrl(
  raw: string,
  allowPrivate: boolean,
  lookup: Lookup = lookupAll,
): Promise<URL> {
  const url = parseWebhookUrl(raw, allowPrivate);
  if (allowPrivate || ipLiteral(url) !== undefined) return url;
  const addresses = await new Promise<LookupAddress[]>((resolve, reject) =>
    lookup(url.hostname, (err, a) =>
      err ? reject(new WebhookAddressError(`${url.hostname}: ${unresolved(err)}`)) : resolve(a),
    ),
  );
  const err = refused(url.hostname, addresses);
  if (err) throw err;
  return url;
}

type NetLookupCallback = (err: Error | null, address: string | LookupAddress[], family?: number) => void;

/**
 * A `lookup` for node:http(s) requests (net.connect calls it, with `all` when it tries several
 * addresses): resolves, refuses when any address is forbidden, else answers the checked addresses.
 * An IP literal host never reaches a lookup: parseWebhookUrl checks those.
 */
export function guardedLookup(lookup: Lookup = lookupAll) {
  return (hostname: string, options: { all?: boolean }, callback: NetLookupCallback): void => {
    lookup(hostname, (err, addresses) => {
      if (err) return callback(err, "");
      const bad = refused(hostname, addresses);
      if (bad) return callback(bad, "");
      const first = addresses[0];
      if (!first) return callback(new WebhookAddressError(`${hostname}: no address`), "");
      if (options.all) return callback(null, addresses);
      callback(null, first.address, first.family);
    });
  };
}
