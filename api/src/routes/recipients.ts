import { router } from "../context";
import type { ApiDeps } from "../deps";

export function recipientRoutes(_deps: ApiDeps) {
  return router();
}
