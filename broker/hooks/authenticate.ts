import type { AuthenticateError, Client } from "aedes";
import { deviceSecretMatches } from "../../core/credentials.ts";
import type { Logger } from "../../core/logger.ts";
import { isVehicleId } from "../../core/topics.ts";
import type { CredentialCache } from "../credential-cache.ts";
import { setIdentity } from "../identity.ts";

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
  /** clients whose CONNECT carried a zero-length id with clean session 0 (marked in preConnect) */
  emptyIdNoClean: WeakSet<Client>;
  /** a device or integration session opened (the broker tracks them to disconnect on revoke) */
  onAccount: (client: Client, username: string) => void;
  log: Logger;
}

/** Aedes `authenticate`: username = vehicle id (or integration name), password = its secret. */
export function createAuthenticate(deps: AuthenticateDeps) {
  return function authenticate(
    client: Client,
    username: string | undefined,
    password: Buffer | undefined,
    done: (error: AuthenticateError | null, success: boolean | null) => void,
  ): void {
    // [MQTT-3.1.3-8] a zero-length client id with CleanSession = 0 gets CONNACK 0x02
    if (deps.emptyIdNoClean.has(client)) {
      done(authError("zero-length client id requires clean session", IDENTIFIER_REJECTED), false);
      return;
    }
    if (username === undefined && password === undefined && deps.allowAnonymous) {
      setIdentity(client, { kind: "anonymous" });
      done(null, true);
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
        if (account.kind === "integration") {
          setIdentity(client, { kind: "integration", name: username });
        } else {
          setIdentity(client, { kind: "device", vehicleId: username, imei: account.imei });
        }
        deps.onAccount(client, username);
        done(null, true);
      },
      (err: unknown) => {
        deps.log.error({ err, vehicleId: username }, "credential lookup failed");
        done(authError("server unavailable", SERVER_UNAVAILABLE), false);
      },
    );
  };
}
