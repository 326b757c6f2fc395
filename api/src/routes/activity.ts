import { router } from "../context";
import type { ApiDeps } from "../deps";

export function activityRoutes(_deps: ApiDeps) {
  return router();
}
