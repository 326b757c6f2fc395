import { router } from "../context";
import type { ApiDeps } from "../deps";

export function deviceRoutes(_deps: ApiDeps) {
  return router();
}
