import { createHash, randomBytes, timingSafeEqual } from "node:crypto";

/**
 * Device credentials: a 128-bit random secret, stored as its SHA-256. The secret has full
 * entropy, so a fast hash is safe here, and a connect storm of thousands of devices costs
 * microseconds each instead of a bcrypt round per connect.
 */
export function newDeviceSecret(): string {
  return randomBytes(16).toString("base64url");
}

export function hashDeviceSecret(secret: string | Buffer): Buffer {
  return createHash("sha256").update(secret).digest();
}

export function deviceSecretMatches(secret: string | Buffer, storedHash: Buffer): boolean {
  const candidate = hashDeviceSecret(secret);
  return candidate.length === storedHash.length && timingSafeEqual(candidate, storedHash);
}

// RFC 4648 base32, lower case: no letters to confuse when a key is typed into a phone app
const BASE32 = "abcdefghijklmnopqrstuvwxyz234567";

/**
 * A device key: 128 random bits, in 26 base32 characters. It is the whole credential of a device
 * that sends no password (Traccar Client's `id`), so it has the secret's entropy and storage
 * (its SHA-256), and is as safe in a URL's query as in a form or a JSON body.
 */
export function newDeviceKey(): string {
  const bytes = randomBytes(17);
  let out = "";
  let bits = 0;
  let value = 0;
  for (const b of bytes) {
    value = (value << 8) | b;
    bits += 8;
    while (bits >= 5 && out.length < 26) {
      out += BASE32[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
  }
  return out;
}

/** A string that could be a device key: the format of newDeviceKey, nothing else is looked up. */
export const DEVICE_KEY_RE = /^[a-z2-7]{26}$/;
