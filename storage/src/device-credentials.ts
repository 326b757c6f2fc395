import { createHash, pbkdf2Sync, randomBytes, timingSafeEqual } from "node:crypto";

/** A new device secret: 32 random bytes, URL-safe. Shown once at provisioning. */
export function generateDeviceSecret(): string {
  return randomBytes(32).toString("base64url");
}

export function deviceSecretSha256(secret: string): string {
  return createHash("sha256").update(secret, "utf8").digest("hex");
}

export function verifyDeviceSecret(secret: string, storedSha256: string | null | undefined): boolean {
  if (!storedSha256) return false;
  const a = Buffer.from(deviceSecretSha256(secret), "hex");
  const b = Buffer.from(storedSha256, "hex");
  return a.length === b.length && timingSafeEqual(a, b);
}

/** Mosquitto 2 password-file hash (`$7$`: PBKDF2-SHA512), so a generated passwd file needs no plaintext. */
export function mosquittoPasswordHash(secret: string, iterations = 101, salt = randomBytes(12)): string {
  const hash = pbkdf2Sync(secret, salt, iterations, 64, "sha512");
  return `$7$${iterations}$${salt.toString("base64")}$${hash.toString("base64")}`;
}

/**
 * A new OsmAnd device identifier (what the Traccar Client app sends as `id`):
 * 32 random bytes, URL-safe, distinct from the serial. It is the device's only
 * credential over HTTP, so it is shown once and stored only as its SHA-256
 * (`devices.osmand_id_sha256`).
 */
export function generateOsmandDeviceId(): string {
  return randomBytes(32).toString("base64url");
}

/** True when a presented identifier could be one issued by `generateOsmandDeviceId` (43 URL-safe characters). */
export function looksLikeOsmandDeviceId(id: string): boolean {
  return /^[A-Za-z0-9_-]{43}$/.test(id);
}
