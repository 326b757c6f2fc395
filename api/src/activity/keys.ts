/**
 * The activity log's keys and what they make (ARCHITECTURE.md, "Storage"): the keyring
 * (ACTIVITY_LOG_KEYS; the first key writes, all verify), a row's canonical text, its
 * `content_mac` and the link hash that chains it to the row before.
 */
import { createHmac, randomBytes } from "node:crypto";
import { z } from "zod";

export interface ActivityKeyring {
  /** New rows are written with this key. */
  current: { id: string; key: Buffer };
  /** Every key that may have written a row, by id (the current one included). */
  byId: Map<string, Buffer>;
}

const keyIdPattern = /^[A-Za-z0-9_.-]{1,32}$/;

/** `id:base64[,id:base64...]`; the first key writes new rows, the others still verify. */
export const activityLogKeysSchema = z.string().transform((s, ctx): ActivityKeyring | typeof z.NEVER => {
  const byId = new Map<string, Buffer>();
  let first: { id: string; key: Buffer } | undefined;
  for (const part of s
    .split(",")
    .map((p) => p.trim())
    .filter(Boolean)) {
    const at = part.indexOf(":");
    const id = part.slice(0, at);
    const key = Buffer.from(part.slice(at + 1), "base64");
    if (at < 1 || !keyIdPattern.test(id) || key.length < 32 || byId.has(id)) {
      ctx.addIssue({
        code: "custom",
        message: "a list of keyId:base64 with unique ids ([A-Za-z0-9_.-]) and keys of 32+ bytes",
      });
      return z.NEVER;
    }
    byId.set(id, key);
    first ??= { id, key };
  }
  if (!first) {
    ctx.addIssue({ code: "custom", message: "at least one keyId:base64 key" });
    return z.NEVER;
  }
  return { current: first, byId };
});

export function generateActivityKeyring(id = "k1"): ActivityKeyring {
  const key = randomBytes(32);
  return { current: { id, key }, byId: new Map([[id, key]]) };
}

/** The text form of a keyring, for ACTIVITY_LOG_KEYS or a key file. */
export const formatActivityKeyring = (k: ActivityKeyring) =>
  [...k.byId].map(([id, key]) => `${id}:${key.toString("base64")}`).join(",");

/** The row's fields as the database renders them (the SQL below), so writer and verifier agree. */
export interface CanonicalRow {
  organisationId: string;
  seq: string;
  id: string;
  at: string;
  actorType: string;
  actorId: string | null;
  sessionId: string | null;
  action: string;
  subjectType: string | null;
  subjectId: string | null;
  recipientIds: string[];
  reason: string | null;
  details: string;
  ip: string | null;
  keyId: string;
}

/** SQL expressions rendering each canonical field; used when writing and when verifying. */
export const CANONICAL_AT_SQL = (e: string) =>
  `to_char((${e}) AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')`;

export function canonicalText(r: CanonicalRow): string {
  return JSON.stringify([
    "v2",
    r.organisationId,
    r.seq,
    r.id,
    r.at,
    r.actorType,
    r.actorId,
    r.sessionId,
    r.action,
    r.subjectType,
    r.subjectId,
    r.recipientIds,
    r.reason,
    r.details,
    r.ip,
    r.keyId,
  ]);
}

export const contentMac = (key: Buffer, r: CanonicalRow) =>
  createHmac("sha256", key).update(canonicalText(r), "utf8").digest();

export const linkHash = (key: Buffer, prevHash: Buffer, mac: Buffer) =>
  createHmac("sha256", key).update("vakt-link-v2|").update(prevHash).update("|").update(mac).digest();
