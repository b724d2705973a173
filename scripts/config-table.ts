import { configSchema } from "../core/config.ts";

/** Prints the README's configuration table from the one config schema (test/readme.test.ts keeps them in step). */
for (const [name, schema] of Object.entries(configSchema.shape)) {
  const parsed = schema.safeParse(undefined);
  const fallback = parsed.success
    ? parsed.data === undefined
      ? "unset"
      : `\`${String(parsed.data)}\``
    : "required*";
  console.log(`| \`${name}\` | ${fallback} | ${schema.description ?? ""} |`);
}
