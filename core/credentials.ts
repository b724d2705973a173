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
