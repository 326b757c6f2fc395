import { OpenAPIHono } from "@hono/zod-openapi";
import type { Logger } from "pino";
import { ApiError } from "./errors";
import type { Actor } from "./policy";

export type SessionStage = "active" | "second_factor_required" | "second_factor_enrolment_required";

export interface AppEnv {
  Variables: {
    requestId: string;
    log: Logger;
    ip: string | null;
    /** Set when the request carries a valid session cookie or API token. */
    actor: Actor | undefined;
    /** For session callers: how far the login got. */
    sessionStage: SessionStage | undefined;
  };
}

/** A router whose validation failures become the one problem shape. */
export type Router = OpenAPIHono<AppEnv>;

/** A new router (see Router). */
export function router(): OpenAPIHono<AppEnv> {
  return new OpenAPIHono<AppEnv>({
    defaultHook: (result) => {
      if (!result.success) throw ApiError.validation(result.error);
    },
  });
}
