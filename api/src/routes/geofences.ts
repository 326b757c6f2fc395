import { router } from "../context";
import type { ApiDeps } from "../deps";

export function geofenceRoutes(_deps: ApiDeps) {
  return router();
}
