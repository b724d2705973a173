import { z } from "zod";

/** Field types the configuration pieces share: every value arrives as an environment string. */
export const port = z.coerce.number().int().min(0).max(65535);
export const bool = z.enum(["true", "false", "1", "0"]).transform((v) => v === "true" || v === "1");
export const positiveInt = z.coerce.number().int().positive();
export const nonNegativeInt = z.coerce.number().int().min(0);
