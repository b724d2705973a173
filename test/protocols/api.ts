import type { App } from "../../api/app.ts";
import { startApi } from "../api/harness.ts";
import type { TestPlatform } from "../support/platform.ts";

export interface ProtocolApi {
  app: App;
  admin: { authorization: string };
  viewer: { authorization: string };
  close(): Promise<void>;
}

/** The real API (buildApp) on the platform's database, Redis and bridge, with admin and viewer tokens. */
export async function startProtocolApi(
  p: TestPlatform,
  env: Record<string, string> = {},
): Promise<ProtocolApi> {
  const api = await startApi({ platform: p, env });
  return {
    app: api.app,
    admin: api.bearer(api.adminToken),
    viewer: api.bearer(api.viewerToken),
    close: () => api.close(),
  };
}
