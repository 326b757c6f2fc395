import { router } from "../context";
import type { ApiDeps } from "../deps";

export function tokenRoutes(_deps: ApiDeps) {
  return router();
}
