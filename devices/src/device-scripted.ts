/** Where a scripted walk (scenario.ts: walk_to, wander, go_home) sends a simulated wearer. */
import type { DeviceEvent } from "./device-output";
import { type MovementState, walkTo, wanderTarget } from "./movement";
import type { Random } from "./random";

export function scriptedWalk(
  movement: MovementState,
  event: Extract<DeviceEvent, { event: "walk_to" | "wander" | "go_home" }>,
  random: Random,
  geofenceRadiusM: number,
): MovementState {
  switch (event.event) {
    case "walk_to":
      return walkTo(
        movement,
        { lat: event.lat, lon: event.lon },
        event.stayForMs === undefined ? undefined : event.stayForMs / 1000,
      );
    case "wander": {
      // Told how far: exactly that; otherwise 1.5 to 2.5 geofence radii, past the fence.
      const r = event.distanceM ?? geofenceRadiusM;
      const [min, max] = event.distanceM ? [1, 1] : [1.5, 2.5];
      return walkTo(movement, wanderTarget(movement.home, r, random, min, max));
    }
    case "go_home":
      return walkTo(movement, movement.home);
  }
}
