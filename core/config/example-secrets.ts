import { z } from "zod";
import { bool } from "./fields.ts";
import type { ConfigRule } from "./rule.ts";
import { refuse } from "./rule.ts";

/**
 * The secrets this repository documents as examples (.env.example, postgres.env.example,
 * emqx.env.example, docker-compose.yml) are public: a platform started with one is open to anyone
 * who reads the README. Every process refuses them unless LOCAL_DEMO says this is a throwaway
 * local run (docker-compose.yml sets it). test/deploy/example-secrets.test.ts keeps this list in
 * step with the example files.
 */
export const demoVars = z.object({
  LOCAL_DEMO: bool
    .default(false)
    .describe(
      "development only: accept the documented example secrets (docker-compose.yml sets it); never in production",
    ),
});

/** Every example secret carries this marker, in any case; docker-compose.yml's too. */
const EXAMPLE_MARKER = /change-?me/i;
/** Example secrets without the marker: docker-compose.yml's (and CI's) PostgreSQL password. */
export const EXAMPLE_SECRETS: readonly string[] = ["logitrack"];

/** Variables holding a secret, and those holding a URL whose password is one. */
const SECRET_VARS = [
  "ADMIN_TOKEN",
  "LOGITRACK_TOKEN",
  "EXTERNAL_MQTT_PASSWORD",
  "EXTERNAL_BROKER_API_SECRET",
];
const URL_VARS = ["DATABASE_URL", "REDIS_URL", "EXTERNAL_MQTT_URL", "EXTERNAL_BROKER_API_URL"];

export function isExampleSecret(value: string): boolean {
  return EXAMPLE_MARKER.test(value) || EXAMPLE_SECRETS.includes(value);
}

function passwordOf(url: string): string {
  try {
    return decodeURIComponent(new URL(url).password);
  } catch {
    return "";
  }
}

const HINT = "set a secret of your own (e.g. openssl rand -base64 32), or LOCAL_DEMO=true for a local demo";

export const exampleSecretsRule: ConfigRule = {
  reads: ["LOCAL_DEMO"],
  apply(values) {
    if (values.LOCAL_DEMO === true) return undefined;
    for (const name of SECRET_VARS) {
      const v = values[name];
      if (typeof v === "string" && isExampleSecret(v)) refuse(name, `is a documented example value; ${HINT}`);
    }
    for (const name of URL_VARS) {
      const v = values[name];
      if (typeof v === "string" && isExampleSecret(passwordOf(v)))
        refuse(name, `its password is a documented example value; ${HINT}`);
    }
    return undefined;
  },
};
