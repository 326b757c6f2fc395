/**
 * How a wearer moves. Pure functions over a small state: long dwells at home,
 * outings on foot (0.8-1.4 m/s, heading steered smoothly towards a waypoint with
 * some wobble, turn rate bounded), short stays at the destination, the walk back.
 * A wander is an outing to a point beyond the geofence radius.
 */
import { bearingDeg, destination, distanceM, headingDiffDeg, type LatLon, normaliseDeg } from "./geo";
import { chance, gaussian, type Random, uniform } from "./random";

export interface MovementParams {
  minSpeedMps: number;
  maxSpeedMps: number;
  /** The heading never turns faster than this. */
  maxTurnRateDegPerS: number;
  /** Random wobble of the heading, degrees per square-root second. */
  headingWobbleDeg: number;
  /** Ordinary outings stay within this distance of home. */
  roamRadiusM: number;
  minOutingM: number;
  dwellHomeMinS: number;
  dwellHomeMaxS: number;
  /** Stay at an outing's destination before walking home. */
  dwellAwayMinS: number;
  dwellAwayMaxS: number;
  /** Arrived when this close to the waypoint. */
  arriveWithinM: number;
  /** Longest internal step; larger `dtS` are split so paths stay smooth. */
  maxStepS: number;
}

export const defaultMovementParams: MovementParams = {
  minSpeedMps: 0.8,
  maxSpeedMps: 1.4,
  maxTurnRateDegPerS: 20,
  headingWobbleDeg: 6,
  roamRadiusM: 250,
  minOutingM: 80,
  dwellHomeMinS: 30 * 60,
  dwellHomeMaxS: 4 * 3600,
  dwellAwayMinS: 60,
  dwellAwayMaxS: 15 * 60,
  arriveWithinM: 10,
  maxStepS: 1,
};

export type MovementPhase = "dwelling" | "walking";

export interface MovementState {
  home: LatLon;
  position: LatLon;
  phase: MovementPhase;
  /** Seconds left of the current dwell. */
  dwellLeftS: number;
  /** Where a walk is going. */
  waypoint: LatLon | undefined;
  /** How long to stay at the waypoint once reached (undefined: pick at random). */
  stayAtWaypointS: number | undefined;
  headingDeg: number;
  speedMps: number;
  /** This wearer's own comfortable pace. */
  preferredSpeedMps: number;
}

const clamp = (x: number, min: number, max: number) => Math.min(max, Math.max(min, x));

export function initialMovement(
  home: LatLon,
  random: Random,
  params: MovementParams = defaultMovementParams,
): MovementState {
  const preferred = uniform(random, params.minSpeedMps + 0.1, params.maxSpeedMps - 0.1);
  return {
    home,
    position: { ...home },
    phase: "dwelling",
    // Start part-way through a dwell so thousands of devices do not all leave at once
    // (a fixed dwell, as scenarios use to keep wearers home, starts in full).
    dwellLeftS:
      params.dwellHomeMinS >= params.dwellHomeMaxS
        ? params.dwellHomeMaxS
        : uniform(random, 0, params.dwellHomeMaxS),
    waypoint: undefined,
    stayAtWaypointS: undefined,
    headingDeg: uniform(random, 0, 360),
    speedMps: 0,
    preferredSpeedMps: preferred,
  };
}

/** Starts walking to `to` now (a scripted walk, a wander, or the way home). */
export function walkTo(state: MovementState, to: LatLon, stayS?: number): MovementState {
  const heading = state.phase === "walking" ? state.headingDeg : bearingDeg(state.position, to);
  return {
    ...state,
    phase: "walking",
    waypoint: { ...to },
    stayAtWaypointS: stayS,
    dwellLeftS: 0,
    headingDeg: heading,
    speedMps: state.phase === "walking" ? state.speedMps : state.preferredSpeedMps,
  };
}

/** A point at `minFactor`..`maxFactor` times `radiusM` from home: beyond the geofence. */
export function wanderTarget(
  home: LatLon,
  radiusM: number,
  random: Random,
  minFactor = 1.5,
  maxFactor = 2.5,
) {
  return destination(home, uniform(random, 0, 360), radiusM * uniform(random, minFactor, maxFactor));
}

export function isAtHome(state: MovementState, params: MovementParams = defaultMovementParams): boolean {
  return distanceM(state.position, state.home) <= params.arriveWithinM;
}

function arrive(state: MovementState, random: Random, params: MovementParams): MovementState {
  const waypoint = state.waypoint ?? state.home;
  const home = distanceM(waypoint, state.home) <= params.arriveWithinM;
  const dwell = home
    ? uniform(random, params.dwellHomeMinS, params.dwellHomeMaxS)
    : (state.stayAtWaypointS ?? uniform(random, params.dwellAwayMinS, params.dwellAwayMaxS));
  return {
    ...state,
    position: home ? { ...state.home } : { ...waypoint },
    phase: "dwelling",
    dwellLeftS: dwell,
    waypoint: undefined,
    stayAtWaypointS: undefined,
    speedMps: 0,
  };
}

function endDwell(state: MovementState, random: Random, params: MovementParams): MovementState {
  if (!isAtHome(state, params)) return walkTo(state, state.home);
  const outing = destination(
    state.home,
    uniform(random, 0, 360),
    uniform(random, params.minOutingM, Math.max(params.minOutingM, params.roamRadiusM)),
  );
  return walkTo(state, outing);
}

function walkStep(state: MovementState, dtS: number, random: Random, params: MovementParams): MovementState {
  const waypoint = state.waypoint ?? state.home;
  const remaining = distanceM(state.position, waypoint);
  if (remaining <= Math.max(params.arriveWithinM, state.speedMps * dtS)) return arrive(state, random, params);

  // Steer towards the waypoint, never faster than the turn-rate bound, plus a little wobble.
  const wanted = headingDiffDeg(state.headingDeg, bearingDeg(state.position, waypoint));
  const wobble = gaussian(random) * params.headingWobbleDeg * Math.sqrt(dtS);
  const maxTurn = params.maxTurnRateDegPerS * dtS;
  const turn = clamp(wanted * Math.min(1, 0.5 * dtS) + wobble, -maxTurn, maxTurn);
  const headingDeg = normaliseDeg(state.headingDeg + turn);

  // Speed drifts around the wearer's pace, within walking bounds.
  const drift = (state.preferredSpeedMps - state.speedMps) * Math.min(1, 0.2 * dtS);
  const speedMps = clamp(
    state.speedMps + drift + gaussian(random) * 0.05 * Math.sqrt(dtS),
    params.minSpeedMps,
    params.maxSpeedMps,
  );
  const position = destination(state.position, headingDeg, Math.min(speedMps * dtS, remaining));
  return { ...state, headingDeg, speedMps, position };
}

/** Advances the wearer by `dtS` seconds. */
export function stepMovement(
  state: MovementState,
  dtS: number,
  random: Random,
  params: MovementParams = defaultMovementParams,
): MovementState {
  let s = state;
  let left = dtS;
  while (left > 1e-9) {
    if (s.phase === "dwelling") {
      // A dwell is skipped over in one go: nothing moves.
      if (s.dwellLeftS > left) return { ...s, dwellLeftS: s.dwellLeftS - left };
      left -= s.dwellLeftS;
      s = endDwell({ ...s, dwellLeftS: 0 }, random, params);
      continue;
    }
    const dt = Math.min(left, params.maxStepS);
    s = walkStep(s, dt, random, params);
    left -= dt;
  }
  return s;
}

export interface ObservedFix {
  lat: number;
  lon: number;
  accM: number;
  source: "gps" | "wifi";
  speedMps?: number;
  headingDeg?: number;
}

/**
 * What the device's receiver reports: the true position plus noise. Indoors at
 * a dwell it is a coarse Wi-Fi fix; on the move a GPS fix with speed and course.
 */
export function observe(state: MovementState, random: Random): ObservedFix {
  const indoors = state.phase === "dwelling";
  const accM = indoors ? uniform(random, 15, 40) : uniform(random, 4, 12);
  const errorM = Math.abs(gaussian(random)) * accM * 0.5;
  const p = destination(state.position, uniform(random, 0, 360), Math.min(errorM, accM * 1.5));
  const fix: ObservedFix = {
    lat: round(p.lat, 6),
    lon: round(p.lon, 6),
    accM: round(accM, 1),
    source: indoors ? (chance(random, 0.9) ? "wifi" : "gps") : "gps",
  };
  if (!indoors) {
    fix.speedMps = round(state.speedMps, 2);
    fix.headingDeg = normaliseDeg(round(state.headingDeg, 1));
  }
  return fix;
}

export function round(x: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}
