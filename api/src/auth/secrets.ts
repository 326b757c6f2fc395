import { createHash, createHmac, randomBytes, timingSafeEqual } from "node:crypto";
import { hash, verify } from "@node-rs/argon2";
import type { PasswordHashingOptions } from "../deps";

/** A new secret token: 32 random bytes, URL-safe, with a readable prefix. */
export function newToken(prefix: string): string {
  return `${prefix}_${randomBytes(32).toString("base64url")}`;
}

export function sha256(value: string): string {
  return createHash("sha256").update(value, "utf8").digest("hex");
}

export function sameHash(a: string, b: string): boolean {
  const x = Buffer.from(a, "hex");
  const y = Buffer.from(b, "hex");
  return x.length === y.length && x.length > 0 && timingSafeEqual(x, y);
}

export function hashPassword(password: string, options: PasswordHashingOptions): Promise<string> {
  return hash(password, { algorithm: 2 /* Argon2id */, ...options });
}

export async function verifyPassword(
  stored: string | null,
  password: string,
  options: PasswordHashingOptions,
) {
  if (!stored) {
    // Same work as a real check, so response time does not reveal unknown accounts.
    await hashPassword(password, options);
    return false;
  }
  try {
    return await verify(stored, password);
  } catch {
    return false;
  }
}

/** Stable pseudonym for an id, for integrations that must not see who is who. */
export function pseudonym(key: string, organisationId: string, id: string): string {
  return `p_${createHmac("sha256", key).update(`${organisationId}:${id}`).digest("base64url").slice(0, 22)}`;
}
