import { problem } from "@vakt/schemas";
import type { Context, MiddlewareHandler } from "hono";
import type { Caller } from "./activity/writer";
import { requirePermission } from "./auth/middleware";
import type { AppEnv } from "./context";
import type { ApiDeps } from "./deps";
import { ApiError } from "./errors";
import type { Actor, Permission } from "./policy";

export const json = <T>(schema: T, description: string) => ({
  content: { "application/json": { schema } },
  description,
});
export const jsonBody = <T>(schema: T) => ({
  body: { content: { "application/json": { schema } }, required: true },
});

const problemContent = { content: { "application/problem+json": { schema: problem } } };
/** The problem responses every guarded route may give. */
export const problems = {
  400: { ...problemContent, description: "Invalid request" },
  401: { ...problemContent, description: "Not logged in" },
  403: { ...problemContent, description: "Not allowed" },
  404: { ...problemContent, description: "Not found, or outside what the caller may see" },
  409: { ...problemContent, description: "Conflict with the current state" },
} as const;

export const security: Record<string, string[]>[] = [{ session: [] }, { bearer: [] }];

/** OpenAPI extension recording the permission a route requires (read by the permission matrix test). */
export const permissionTag = (permission: Permission | Permission[] | "public" | "session") => ({
  "x-permission": permission,
});

/**
 * A route that needs one permission: its OpenAPI security and x-permission and
 * the middleware that enforces it, from one value, so the document the
 * permission matrix reads cannot disagree with what is enforced.
 */
export const guardedBy = (permission: Permission) => ({
  security,
  ...permissionTag(permission),
  middleware: [requirePermission(permission)] as [MiddlewareHandler<AppEnv>],
});

/** Who is calling, for services and the activity log. Throws when nobody is. */
export function callerOf(c: Context<AppEnv>, deps: ApiDeps): Caller & { actor: Actor } {
  const actor = c.get("actor");
  if (!actor) throw new ApiError("unauthenticated");
  return { actor, organisationId: actor.organisationId, ip: c.get("ip"), now: deps.clock.now() };
}

/** A logged-in person, with the session they use. */
export function userCallerOf(c: Context<AppEnv>, deps: ApiDeps) {
  const caller = callerOf(c, deps);
  if (caller.actor.kind !== "user")
    throw new ApiError("forbidden", "Only people can do this, not API tokens.");
  return { ...caller, userId: caller.actor.userId, sessionId: caller.actor.sessionId };
}
