import type pg from "pg";
import { type ApiToken, listTokens, revokeToken } from "./api-tokens.ts";
import { authSubject, publishAuthRevoked } from "./auth-revocations.ts";
import { publishRevokeIntegration } from "./control.ts";
import type { Redis } from "./redis.ts";
import { getUser, listUsers, removeUser, setPassword, setUserDisabled, type User } from "./users.ts";
import { listIntegrations, removeIntegration } from "./vehicles.ts";

export interface AccountAdminDeps {
  pool: pg.Pool;
  /** where revocations are announced: API nodes close open /ws sockets, brokers MQTT sessions */
  redis: Redis;
}

/** Whose sessions "log out everywhere" ends: a user's, or those opened with an API token. */
export type SessionOwner = { userId: number } | { tokenId: number };

/**
 * Revocation for every way in (API routes, scripts/cli.ts): each operation does the database
 * change, then announces it, so that what was checked once (an open /ws socket, an MQTT session)
 * ends too. The database change comes first: every later request is refused even if the
 * announcement fails (the caller then hears the error and may repeat it; each is idempotent).
 */
export function createAccountAdmin(deps: AccountAdminDeps) {
  const { pool, redis } = deps;

  async function endSessions(owner: SessionOwner): Promise<number> {
    const r = await pool.query<{ id_hash: Buffer }>(
      "userId" in owner
        ? "DELETE FROM sessions WHERE user_id = $1 RETURNING id_hash"
        : "DELETE FROM sessions WHERE token_id = $1 RETURNING id_hash",
      ["userId" in owner ? owner.userId : owner.tokenId],
    );
    await publishAuthRevoked(
      redis,
      r.rows.map((s) => authSubject.session(s.id_hash)),
    );
    return r.rowCount ?? 0;
  }

  return {
    listUsers: () => listUsers(pool),

    /** Refuses its logins and ends its sessions. Undefined: no such user. */
    async disableUser(username: string): Promise<User | undefined> {
      const user = await setUserDisabled(pool, username, true);
      if (user) await publishAuthRevoked(redis, [authSubject.user(user.id)]);
      return user;
    },

    enableUser: (username: string) => setUserDisabled(pool, username, false),

    /** Sets a new password; the user's sessions and live sockets end. Undefined: no such user. */
    async resetPassword(username: string, password: string): Promise<User | undefined> {
      const user = await setPassword(pool, username, password);
      if (user) await publishAuthRevoked(redis, [authSubject.user(user.id)]);
      return user;
    },

    async removeUser(username: string): Promise<User | undefined> {
      const user = await removeUser(pool, username);
      if (user) await publishAuthRevoked(redis, [authSubject.user(user.id)]);
      return user;
    },

    /** "Log out everywhere" for a user by name. Undefined: no such user. */
    async logoutUser(username: string): Promise<{ user: User; sessions: number } | undefined> {
      const user = await getUser(pool, username);
      return user && { user, sessions: await endSessions({ userId: user.id }) };
    },

    /** "Log out everywhere" for whoever asks (api/routes/auth.ts). */
    endSessions,

    listTokens: () => listTokens(pool),

    /** Refuses the token and ends the sessions opened with it. Undefined: no such token. */
    async revokeToken(id: number): Promise<ApiToken | undefined> {
      const token = await revokeToken(pool, id);
      if (token) await publishAuthRevoked(redis, [authSubject.token(token.id)]);
      return token;
    },

    listIntegrations: () => listIntegrations(pool),

    /** Deletes an integration account and ends its MQTT sessions on every broker node. */
    async removeIntegration(name: string): Promise<boolean> {
      if (!(await removeIntegration(pool, name))) return false;
      await publishRevokeIntegration(redis, name);
      return true;
    },
  };
}

export type AccountAdmin = ReturnType<typeof createAccountAdmin>;
