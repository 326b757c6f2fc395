import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { distanceM, headingDiffDeg } from "./geo";
import {
  initialMovement,
  isAtHome,
  type MovementState,
  observe,
  defaultMovementParams as params,
  stepMovement,
  walkTo,
  wanderTarget,
} from "./movement";
import { seededRandom } from "./random";

const home = { lat: 59.9139, lon: 10.7522 };

/** A wearer who just set off on an outing. */
function walking(seed: number): MovementState {
  const random = seededRandom(seed);
  const s = initialMovement(home, random);
  return walkTo(s, wanderTarget(home, 200, random, 1, 1));
}

describe("movement: walking", () => {
  it("keeps walking speed within 0.8-1.4 m/s and each step within speed bounds", () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 1_000_000 }), (seed) => {
        const random = seededRandom(seed);
        let s = walking(seed);
        for (let i = 0; i < 600; i++) {
          const next = stepMovement(s, 1, random);
          if (next.phase === "walking") {
            expect(next.speedMps).toBeGreaterThanOrEqual(params.minSpeedMps);
            expect(next.speedMps).toBeLessThanOrEqual(params.maxSpeedMps);
            expect(distanceM(s.position, next.position)).toBeLessThanOrEqual(params.maxSpeedMps + 1e-6);
          }
          s = next;
        }
      }),
      { numRuns: 30 },
    );
  });

  it("turns smoothly: the heading never changes faster than the turn-rate bound", () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 1_000_000 }), fc.constantFrom(0.2, 0.5, 1, 3), (seed, dt) => {
        const random = seededRandom(seed);
        let s = walking(seed);
        for (let i = 0; i < 300 && s.phase === "walking"; i++) {
          const next = stepMovement(s, dt, random);
          if (next.phase !== "walking") break;
          const turned = Math.abs(headingDiffDeg(s.headingDeg, next.headingDeg));
          expect(turned).toBeLessThanOrEqual(params.maxTurnRateDegPerS * dt + 1e-6);
          s = next;
        }
      }),
      { numRuns: 30 },
    );
  });

  it("reaches its waypoint, stays a while, and walks home to a long dwell", () => {
    const random = seededRandom(5);
    const start = initialMovement(home, random);
    const target = wanderTarget(home, 300, random, 2, 2); // 600 m out: beyond a 300 m geofence
    let s = walkTo(start, target, 120);
    let farthest = 0;
    let seconds = 0;
    while (s.phase === "walking" && seconds < 3600) {
      s = stepMovement(s, 1, random);
      farthest = Math.max(farthest, distanceM(home, s.position));
      seconds++;
    }
    expect(farthest).toBeGreaterThan(300);
    expect(s.phase).toBe("dwelling");
    expect(distanceM(s.position, target)).toBeLessThan(params.arriveWithinM + 1e-6);
    // 600 m at walking pace: between 600/1.4 and 600/0.8 seconds, give or take the curves.
    expect(seconds).toBeGreaterThan(600 / params.maxSpeedMps);
    expect(seconds).toBeLessThan((600 / params.minSpeedMps) * 1.5);
    s = stepMovement(s, 121, random); // the stay ends, heading home
    expect(s.phase).toBe("walking");
    for (let i = 0; i < 3600 && s.phase === "walking"; i++) s = stepMovement(s, 1, random);
    expect(isAtHome(s)).toBe(true);
    expect(s.dwellLeftS).toBeGreaterThanOrEqual(params.dwellHomeMinS);
  });

  it("is deterministic for a seed", () => {
    const run = () => {
      const random = seededRandom(11);
      let s = walking(11);
      for (let i = 0; i < 100; i++) s = stepMovement(s, 1, random);
      return s.position;
    };
    expect(run()).toEqual(run());
  });
});

describe("movement: dwelling", () => {
  it("stays at home while dwelling and reports fixes near it", () => {
    const random = seededRandom(2);
    let s = initialMovement(home, random);
    s = { ...s, dwellLeftS: 3600 };
    for (let i = 0; i < 59; i++) {
      s = stepMovement(s, 60, random);
      expect(s.phase).toBe("dwelling");
      expect(s.position).toEqual(home);
      const fix = observe(s, random);
      expect(distanceM(home, fix)).toBeLessThanOrEqual(fix.accM * 1.5 + 1);
      expect(fix.speedMps).toBeUndefined();
    }
  });

  it("sets off on ordinary outings within the roaming radius", () => {
    const random = seededRandom(4);
    let s = { ...initialMovement(home, random), dwellLeftS: 10 };
    s = stepMovement(s, 11, random);
    expect(s.phase).toBe("walking");
    expect(s.waypoint).toBeDefined();
    if (s.waypoint) expect(distanceM(home, s.waypoint)).toBeLessThanOrEqual(params.roamRadiusM + 1);
  });

  it("skips a long dwell in one step without moving", () => {
    const random = seededRandom(8);
    const s = { ...initialMovement(home, random), dwellLeftS: 86_400 };
    const next = stepMovement(s, 3600, random);
    expect(next.dwellLeftS).toBe(86_400 - 3600);
    expect(next.position).toEqual(home);
  });
});

describe("movement: observed fixes", () => {
  it("report speed and a heading in [0, 360) while walking", () => {
    const random = seededRandom(6);
    let s = walking(6);
    for (let i = 0; i < 100; i++) {
      s = stepMovement(s, 1, random);
      if (s.phase !== "walking") break;
      const fix = observe(s, random);
      expect(fix.source).toBe("gps");
      expect(fix.headingDeg).toBeGreaterThanOrEqual(0);
      expect(fix.headingDeg).toBeLessThan(360);
      expect(fix.speedMps).toBeGreaterThanOrEqual(params.minSpeedMps);
    }
  });
});
