export type { BatteryParams, BatteryState } from "./battery";
export { defaultBatteryParams, initialBattery, isDead, reportedPct, stepBattery } from "./battery";
export type { Clock } from "./clock";
export { ManualClock, scaledClock, systemClock } from "./clock";
export type { DeviceEvent, Note, Output, Uplink } from "./device";
export { SimulatedDevice } from "./device";
export type { TownCentre } from "./generate";
export { defaultCentres, generateDevices, homeNear, townCentre } from "./generate";
export type { LatLon } from "./geo";
export { bearingDeg, destination, distanceM, headingDiffDeg, normaliseDeg } from "./geo";
export type { MalformedKind, MalformedUplink } from "./malformed";
export { malform, malformedKind, malformedKinds } from "./malformed";
export type { MovementParams, MovementPhase, MovementState, ObservedFix } from "./movement";
export {
  defaultMovementParams,
  initialMovement,
  isAtHome,
  observe,
  stepMovement,
  walkTo,
  wanderTarget,
} from "./movement";
export type { SimDevice, SimOptions, SimOptionsInput } from "./options";
export { deviceList, mergeOptions, quietOptions, simDevice, simOptions } from "./options";
export type { Random } from "./random";
export { forkRandom, seededRandom } from "./random";
export type { RunScenarioArgs } from "./run-scenario";
export { runScenario } from "./run-scenario";
export type { Scenario, TimelineEvent } from "./scenario";
export { loadScenario, parseDuration, parseScenario, scenarioFile } from "./scenario";
export type { Simulator, SimulatorArgs, SimulatorEvent, SimulatorStats } from "./simulator";
export { createSimulator } from "./simulator";
