import type { AccountAdmin } from "../core/account-admin.ts";

/** `npm run -s logitrack -- …` lines for listing and revoking accounts (scripts/cli.ts prints them). */
export const ACCOUNT_USAGE = `  user list [--json]
  user disable|enable <name>                disable refuses its logins and ends its sessions and
                                            live sockets; enable lets it log in again
  user remove <name>                        delete it (its sessions and live sockets end)
  user logout <name>                        log it out everywhere (every session and live socket)
  token list [--json]                       API tokens (never their values), revoked ones included
  token revoke <id>                         refuse it from now on; its sessions and live sockets end
  integration list [--json]
  integration remove <name>                 delete it; its MQTT sessions are disconnected`;

/**
 * The account commands of scripts/cli.ts, through core/account-admin.ts like the API's routes
 * (so the CLI ends live sockets and MQTT sessions too). Undefined: not an account command.
 */
export async function runAccountCommand(
  accounts: AccountAdmin,
  cmd: string,
  arg: string | undefined,
  json: boolean,
): Promise<number | undefined> {
  const fail = (msg: string) => {
    console.error(msg);
    return 1;
  };
  function list<T>(rows: T[], line: (r: T) => unknown[]): number {
    if (json) console.log(JSON.stringify(rows));
    else for (const r of rows) console.log(line(r).join("\t"));
    return 0;
  }
  const needsArg = new Set([
    "user disable",
    "user enable",
    "user remove",
    "user logout",
    "token revoke",
    "integration remove",
  ]);
  if (needsArg.has(cmd) && !arg)
    return fail(`${cmd} needs a ${cmd.startsWith("token") ? "token id" : "name"}`);
  const name = arg as string;
  switch (cmd) {
    case "user list":
      return list(await accounts.listUsers(), (u) => [
        u.username,
        u.role,
        u.disabled ? "disabled" : "enabled",
        `${u.sessions} session(s)`,
      ]);
    case "user disable":
    case "user enable": {
      const disable = cmd === "user disable";
      const user = disable ? await accounts.disableUser(name) : await accounts.enableUser(name);
      if (!user) return fail(`no user ${name}`);
      console.log(`user ${name} ${disable ? "disabled; its sessions ended" : "enabled"}`);
      return 0;
    }
    case "user remove":
      if (!(await accounts.removeUser(name))) return fail(`no user ${name}`);
      console.log(`user ${name} removed`);
      return 0;
    case "user logout": {
      const ended = await accounts.logoutUser(name);
      if (!ended) return fail(`no user ${name}`);
      console.log(`user ${name} logged out everywhere (${ended.sessions} session(s) ended)`);
      return 0;
    }
    case "token list":
      return list(await accounts.listTokens(), (t) => [
        t.id,
        t.name,
        t.role,
        t.revokedAt ? `revoked ${t.revokedAt}` : "active",
        t.expiresAt ? `expires ${t.expiresAt}` : "never expires",
      ]);
    case "token revoke": {
      const id = Number(name);
      if (!Number.isSafeInteger(id) || id <= 0)
        return fail(`token revoke needs a token id (token list), not ${name}`);
      const token = await accounts.revokeToken(id);
      if (!token) return fail(`no token ${id}`);
      console.log(`token ${id} (${token.name}) revoked`);
      return 0;
    }
    case "integration list":
      return list(await accounts.listIntegrations(), (i) => [i.name, i.createdAt]);
    case "integration remove":
      if (!(await accounts.removeIntegration(name))) return fail(`no integration ${name}`);
      console.log(`integration ${name} removed; its MQTT sessions are disconnected`);
      return 0;
    default:
      return undefined;
  }
}
