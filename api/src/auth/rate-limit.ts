/**
 * A bound on the public endpoints, which anyone can call without an account:
 * login, password reset, invitations and single sign-on (each SSO start writes
 * a login flow; each reset request may send an e-mail). Counted per client
 * address in PostgreSQL (rate-limiter-flexible's store), so the bound holds
 * across API processes; if the database cannot count, a per-process counter
 * stands in rather than letting everything through.
 *
 * Account lockout after wrong passwords (auth/service.ts) is separate and
 * stays: this limit is about volume, that one about guessing.
 */
import { DEFAULT_PUBLIC_RATE_LIMIT_PER_MINUTE } from "@vakt/schemas";
import type { MiddlewareHandler } from "hono";
import { RateLimiterMemory, RateLimiterPostgres, RateLimiterRes } from "rate-limiter-flexible";
import type { AppEnv } from "../context";
import type { ApiDeps } from "../deps";
import { ApiError } from "../errors";

export function publicRateLimit(deps: ApiDeps): MiddlewareHandler<AppEnv> {
  const points = deps.config.PUBLIC_RATE_LIMIT_PER_MINUTE ?? DEFAULT_PUBLIC_RATE_LIMIT_PER_MINUTE;
  if (points === 0) return (_c, next) => next();
  const window = { points, duration: 60 };
  const limiter = new RateLimiterPostgres({
    ...window,
    storeClient: deps.pool,
    tableName: "rate_limits",
    tableCreated: true,
    keyPrefix: "public",
    insuranceLimiter: new RateLimiterMemory(window),
  });
  return async (c, next) => {
    try {
      await limiter.consume(c.get("ip") ?? "unknown");
    } catch (err) {
      if (!(err instanceof RateLimiterRes)) throw err;
      const retryAfterSeconds = Math.max(1, Math.ceil(err.msBeforeNext / 1000));
      c.get("log").warn({ ip: c.get("ip"), path: c.req.path }, "public endpoint rate limit reached");
      throw new ApiError(
        "too_many_requests",
        `Too many requests from this address; try again in ${retryAfterSeconds} s.`,
        { retryAfterSeconds },
      );
    }
    await next();
  };
}
