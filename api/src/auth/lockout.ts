/**
 * Brute force: every attempt is a row in login_attempts, so the count holds
 * across API processes. After ACCOUNT_FREE failures on an account (since its
 * last success) or IP_FREE failures from an address within the window, further
 * attempts wait 30 s, doubling per failure, at most an hour.
 */
import type { ApiDeps } from "../deps";
import { ApiError } from "../errors";

export const ACCOUNT_FREE_FAILURES = 5;
export const IP_FREE_FAILURES = 20;
const WINDOW_MS = 60 * 60_000;
const BASE_DELAY_MS = 30_000;
const MAX_DELAY_MS = 60 * 60_000;

export function lockDelayMs(failures: number, free: number): number {
  if (failures < free) return 0;
  return Math.min(BASE_DELAY_MS * 2 ** (failures - free), MAX_DELAY_MS);
}

/**
 * Throws 429 when the account or the address (as asked) is locked out right now.
 * The address lockout is not applied to a right password of an account with a
 * second factor, nor to its second step (OWASP Authentication Cheat Sheet,
 * "Account Lockout", and Credential Stuffing Prevention Cheat Sheet: MFA is the
 * main defence, address throttling must not lock out everyone behind one NAT);
 * the per-account lockout still bounds guessing on that account.
 */
export async function checkLockout(
  deps: ApiDeps,
  email: string,
  ip: string | null,
  now: Date,
  which: { account: boolean; address: boolean } = { account: true, address: true },
) {
  const since = new Date(now.getTime() - WINDOW_MS);
  const { rows } = await deps.pool.query<{
    account_n: number;
    account_last: Date | null;
    ip_n: number;
    ip_last: Date | null;
  }>(
    `WITH last_ok AS (
       SELECT max(at) AS t FROM login_attempts WHERE email = $1 AND success AND at > $3
     ), account AS (
       SELECT count(*)::int AS n, max(at) AS last FROM login_attempts
        WHERE email = $1 AND NOT success AND at > coalesce((SELECT t FROM last_ok), $3)
     ), addr AS (
       SELECT count(*)::int AS n, max(at) AS last FROM login_attempts
        WHERE $2::inet IS NOT NULL AND ip = $2::inet AND NOT success AND at > $3
     )
     SELECT account.n AS account_n, account.last AS account_last, addr.n AS ip_n, addr.last AS ip_last
       FROM account, addr`,
    [email, ip, since],
  );
  const r = rows[0];
  if (!r) return;
  const until = Math.max(
    which.account && r.account_last
      ? r.account_last.getTime() + lockDelayMs(r.account_n, ACCOUNT_FREE_FAILURES)
      : 0,
    which.address && r.ip_last ? r.ip_last.getTime() + lockDelayMs(r.ip_n, IP_FREE_FAILURES) : 0,
  );
  const lockedAccount = which.account && r.account_n >= ACCOUNT_FREE_FAILURES;
  const lockedIp = which.address && r.ip_n >= IP_FREE_FAILURES;
  if ((lockedAccount || lockedIp) && until > now.getTime()) {
    const retryAfterSeconds = Math.ceil((until - now.getTime()) / 1000);
    throw new ApiError(
      "too_many_requests",
      `Too many failed attempts; try again in ${retryAfterSeconds} s.`,
      {
        retryAfterSeconds,
      },
    );
  }
}

export async function recordAttempt(
  deps: ApiDeps,
  email: string,
  ip: string | null,
  now: Date,
  success: boolean,
) {
  await deps.pool.query("INSERT INTO login_attempts (at, email, ip, success) VALUES ($1, $2, $3, $4)", [
    now,
    email,
    ip,
    success,
  ]);
}
