import type { AuthenticateError, Client } from "aedes";
import { clientIdNames, clientIdOwner } from "../../core/client-id.ts";
import { deviceSecretMatches } from "../../core/credentials.ts";
import type { Logger } from "../../core/logger.ts";
import { IMEI_RE, isVehicleId } from "../../core/topics.ts";
import type { CredentialCache } from "../credential-cache.ts";
import { type Identity, setIdentity } from "../identity.ts";

// CONNACK return codes (MQTT 3.1.1 table 3.1)
const IDENTIFIER_REJECTED = 2;
const SERVER_UNAVAILABLE = 3;
const BAD_USERNAME_OR_PASSWORD = 4;

function authError(message: string, returnCode: number): AuthenticateError {
  return Object.assign(new Error(message), { returnCode }) as AuthenticateError;
}

export interface AuthenticateDeps {
  credentials: CredentialCache;
  allowAnonymous: boolean;
  /** clients whose CONNECT carried a zero-length client id (marked in preConnect) */
  emptyId: WeakSet<Client>;
  /**
   * whether a vehicle (of any status) is registered with this IMEI: a device may use its IMEI as
   * client id, so an anonymous client may not
   */
  imeiRegistered: (imei: string) => Promise<boolean>;
  /** a device or integration session opened (the broker tracks them to disconnect on revoke) */
  onAccount: (client: Client, username: string) => void;
  /** a CONNECT refused because its client id does not name its account */
  onClientIdRefused: () => void;
  log: Logger;
}

/**
 * Aedes `authenticate`: username = vehicle id (or integration name), password = its secret. The
 * client id must name the account (core/client-id.ts): otherwise one credential could take over
 * another's session, and its queued commands. Aedes registers the client, and closes a live
 * session with the same id, only after this answers: a refused CONNECT touches no session.
 */
export function createAuthenticate(deps: AuthenticateDeps) {
  function refuseClientId(client: Client, account: string | undefined, done: Done): void {
    deps.onClientIdRefused();
    deps.log.info({ account, clientId: client.id }, "client id does not name the account: CONNACK 2");
    done(
      authError("client id must be the account name, or start with it and ':'", IDENTIFIER_REJECTED),
      false,
    );
  }

  return function authenticate(
    client: Client,
    username: string | undefined,
    password: Buffer | undefined,
    done: Done,
  ): void {
    // a zero-length id is replaced by a random one (Aedes): it names no one else's session
    const assigned = deps.emptyId.has(client);
    // [MQTT-3.1.3-8] a zero-length client id with CleanSession = 0 gets CONNACK 0x02
    if (assigned && client.clean === false) {
      done(authError("zero-length client id requires clean session", IDENTIFIER_REJECTED), false);
      return;
    }
    if (username === undefined && password === undefined && deps.allowAnonymous) {
      authenticateAnonymous(client, assigned, done);
      return;
    }
    if (!username || !password || !isVehicleId(username)) {
      done(authError("bad username or password", BAD_USERNAME_OR_PASSWORD), false);
      return;
    }
    deps.credentials.get(username).then(
      (account) => {
        if (!account || !deviceSecretMatches(password, account.hash)) {
          deps.log.info({ vehicleId: username, clientId: client.id }, "device authentication failed");
          done(authError("bad username or password", BAD_USERNAME_OR_PASSWORD), false);
          return;
        }
        const identity: Identity =
          account.kind === "integration"
            ? {
                kind: "integration",
                name: username,
                vehicles: account.vehicles && new Set(account.vehicles),
              }
            : { kind: "device", vehicleId: username, imei: account.imei };
        const names = identity.kind === "device" ? [username, identity.imei] : [username];
        if (!assigned && !clientIdNames(client.id, names)) {
          refuseClientId(client, username, done);
          return;
        }
        setIdentity(client, identity);
        deps.onAccount(client, username);
        done(null, true);
      },
      (err: unknown) => {
        deps.log.error({ err, vehicleId: username }, "credential lookup failed");
        done(authError("server unavailable", SERVER_UNAVAILABLE), false);
      },
    );
  };

  /**
   * Development only (MQTT_ALLOW_ANONYMOUS): an anonymous client may not use an account's client
   * ids, its name or a device's IMEI (core/client-id.ts), alone or with a `:` suffix.
   */
  function authenticateAnonymous(client: Client, assigned: boolean, done: Done): void {
    const owner = clientIdOwner(client.id);
    const accept = () => {
      setIdentity(client, { kind: "anonymous" });
      done(null, true);
    };
    const byName = isVehicleId(owner);
    const byImei = IMEI_RE.test(owner);
    if (assigned || (!byName && !byImei)) {
      accept();
      return;
    }
    Promise.all([
      byName ? deps.credentials.get(owner).then(Boolean) : false,
      byImei ? deps.imeiRegistered(owner) : false,
    ]).then(
      ([named, imei]) => (named || imei ? refuseClientId(client, undefined, done) : accept()),
      (err: unknown) => {
        deps.log.error({ err, clientId: client.id }, "credential lookup failed");
        done(authError("server unavailable", SERVER_UNAVAILABLE), false);
      },
    );
  }
}

type Done = (error: AuthenticateError | null, success: boolean | null) => void;
