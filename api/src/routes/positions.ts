import { router } from "../context";
import type { ApiDeps } from "../deps";

export function positionRoutes(_deps: ApiDeps) {
  return router();
}
