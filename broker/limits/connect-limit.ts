import type { AuthenticateError, Client, ConnectPacket } from "aedes";
import { AddressLimit, addressKey, remoteAddressOf } from "./address-limit.ts";

// CONNACK return codes (MQTT 3.1.1 table 3.1)
const IDENTIFIER_REJECTED = 2;
const SERVER_UNAVAILABLE = 3;

type Authenticate = (
  client: Client,
  username: string | undefined,
  password: Buffer | undefined,
  done: (error: AuthenticateError | null, success: boolean | null) => void,
) => void;

export interface ConnectLimitOptions {
  /** new connections accepted per second (bucket of one second's worth) */
  ratePerSecond: number;
  /** new connections accepted per second from one source address, taken before the global rate */
  ratePerAddress: number;
  /** source addresses remembered at once (address-limit.ts) */
  maxAddresses: number;
  /** the first refusal of a run from one address (later ones are only counted) */
  onAddressRefused?: (address: string) => void;
  /** authentications (credential lookups) in progress at once */
  maxPending: number;
  /** longest client id, for MQTT 3.1.1 too (Aedes checks it for 3.1 only) */
  maxClientIdLength: number;
  /** true while the broker sheds load (load-shed.ts): every CONNECT is refused first */
  shedding?: () => boolean;
  now?: () => number;
}

function refuse(message: string, returnCode: number): AuthenticateError {
  return Object.assign(new Error(message), { returnCode }) as AuthenticateError;
}

/**
 * Connect-storm limits. After a broker restart every device dials again within seconds, and each
 * first connect costs a credential lookup in PostgreSQL. Above the connect rate, or with too many
 * lookups already in progress, or while the broker sheds load (load-shed.ts), a CONNECT is
 * answered CONNACK 3 (server unavailable) before any lookup: cheap for the broker, and devices retry with their backoff (MQTT.js and modems do).
 * The rate is taken per source address first, then globally: one address flooding CONNECTs meets
 * its own limit and leaves the global one to everybody else; the global rate stays the last
 * resort against many addresses at once. A connect the global rate refuses gives its address's
 * token back.
 * `preConnect` takes the rate tokens (it runs first, once per CONNECT); `authenticate` wraps the
 * real one and answers the refusals, so they get a CONNACK instead of a silent close.
 */
export function createConnectLimit(o: ConnectLimitOptions) {
  const now = o.now ?? Date.now;
  const overRate = new WeakSet<Client>();
  const overAddressRate = new WeakSet<Client>();
  const perAddress = new AddressLimit({
    ratePerSecond: o.ratePerAddress,
    maxAddresses: o.maxAddresses,
    now,
  });
  let tokens = o.ratePerSecond;
  let at = now();
  let pending = 0;
  /** CONNECTs refused, by limit: shedding, per address, global rate, pending lookups, client id length */
  const refused = {
    shedding: 0,
    address: 0,
    rate: 0,
    pending: 0,
    clientId: 0,
    addressConnections: 0,
    connections: 0,
  };

  return {
    refused,
    get pending(): number {
      return pending;
    },
    /** Takes a token for this CONNECT; a client without one is refused in authenticate. */
    preConnect(client: Client, _packet: ConnectPacket): void {
      const address = addressKey(remoteAddressOf(client));
      const taken = perAddress.take(address);
      if (taken !== "ok") {
        overAddressRate.add(client);
        if (taken === "first-refusal") o.onAddressRefused?.(address);
        return;
      }
      const t = now();
      tokens = Math.min(o.ratePerSecond, tokens + ((t - at) * o.ratePerSecond) / 1000);
      at = t;
      if (tokens >= 1) tokens -= 1;
      else {
        perAddress.refund(address);
        overRate.add(client);
      }
    },
    authenticate(inner: Authenticate): Authenticate {
      return (client, username, password, done) => {
        if (o.shedding?.()) {
          refused.shedding++;
          done(refuse("server shedding load", SERVER_UNAVAILABLE), false);
          return;
        }
        if (overAddressRate.has(client)) {
          refused.address++;
          done(refuse("connect rate of this address exceeded", SERVER_UNAVAILABLE), false);
          return;
        }
        if (overRate.has(client)) {
          refused.rate++;
          done(refuse("connect rate exceeded", SERVER_UNAVAILABLE), false);
          return;
        }
        if ((client.id ?? "").length > o.maxClientIdLength) {
          refused.clientId++;
          done(refuse(`client id longer than ${o.maxClientIdLength}`, IDENTIFIER_REJECTED), false);
          return;
        }
        if (pending >= o.maxPending) {
          refused.pending++;
          done(refuse("too many authentications in progress", SERVER_UNAVAILABLE), false);
          return;
        }
        pending++;
        let settled = false;
        inner(client, username, password, (err, ok) => {
          if (!settled) {
            settled = true;
            pending--;
          }
          done(err, ok);
        });
      };
    },
  };
}
