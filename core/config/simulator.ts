import { z } from "zod";

/** simulator/main.ts only: where it registers trucks when --api / --token are not given. */
export const simulatorVars = z.object({
  LOGITRACK_API_URL: z
    .string()
    .url()
    .optional()
    .describe("simulator: API for registration; default http://127.0.0.1:HTTP_PORT"),
  LOGITRACK_TOKEN: z
    .string()
    .optional()
    .describe("simulator: admin API token; default ADMIN_TOKEN, then DATA_DIR/admin-token"),
});
