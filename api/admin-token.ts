import { chmod, mkdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import type pg from "pg";
import { newTokenValue, replaceNamedToken } from "../core/api-tokens.ts";

export const ENV_TOKEN_NAME = "ADMIN_TOKEN";
export const FILE_TOKEN_NAME = "generated-admin";

export type AdminTokenSource =
  /** `revoked`: this value was revoked (DELETE /api/tokens/:id) and stays refused */
  | { source: "env"; revoked: boolean }
  | { source: "file"; file: string; revoked: boolean }
  /** `token` is for tests in-process; the API prints only the file's path, never the value */
  | { source: "generated"; file: string; token: string };

/**
 * The first admin credential, so a fresh install can be used at all. ADMIN_TOKEN wins (stored
 * hashed, replacing an earlier ADMIN_TOKEN). Without it, a token is generated once into
 * DATA_DIR/admin-token (mode 0600) and the caller tells where it is (not the token: stdout ends
 * up in container logs); later starts re-register the saved one (the database may have been
 * recreated). A revoked value is not brought back by either.
 */
export async function ensureAdminToken(
  pool: pg.Pool,
  opts: { adminToken?: string | undefined; dataDir: string },
): Promise<AdminTokenSource> {
  if (opts.adminToken) {
    const ok = await replaceNamedToken(pool, ENV_TOKEN_NAME, "admin", opts.adminToken);
    return { source: "env", revoked: !ok };
  }
  const file = join(opts.dataDir, "admin-token");
  const saved = await readFile(file, "utf8").then(
    (t) => t.trim(),
    (err: NodeJS.ErrnoException) => {
      if (err.code === "ENOENT") return undefined;
      throw err;
    },
  );
  if (saved) {
    const ok = await replaceNamedToken(pool, FILE_TOKEN_NAME, "admin", saved);
    return { source: "file", file, revoked: !ok };
  }
  const token = newTokenValue();
  await mkdir(opts.dataDir, { recursive: true });
  // "wx": two API processes starting at once must not overwrite each other's token
  await writeFile(file, `${token}\n`, { mode: 0o600, flag: "wx" });
  await chmod(file, 0o600);
  await replaceNamedToken(pool, FILE_TOKEN_NAME, "admin", token);
  return { source: "generated", file, token };
}
