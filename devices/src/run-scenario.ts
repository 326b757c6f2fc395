import type { Logger } from "pino";
import type { Clock } from "./clock";
import { mergeOptions, type SimDevice, type SimOptionsInput } from "./options";
import type { Random } from "./random";
import type { Scenario } from "./scenario";
import { createSimulator, type SimulatorEvent, type SimulatorStats } from "./simulator";

export interface RunScenarioArgs {
  scenario: Scenario;
  mqttUrl: string;
  logger: Logger;
  clock?: Clock;
  random?: Random;
  /** Credentials (and homes) by serial, e.g. from a devices file; the scenario's own list otherwise. */
  devices?: SimDevice[];
  /** Overrides the scenario's options. */
  options?: SimOptionsInput;
  onEvent?: (event: SimulatorEvent) => void;
}

/**
 * Runs a scripted scenario from start to its end and returns the run's stats.
 * A device without a secret uses its serial as password (anonymous brokers ignore it).
 */
export async function runScenario(args: RunScenarioArgs): Promise<SimulatorStats> {
  const { scenario } = args;
  const known = new Map((args.devices ?? []).map((d) => [d.serial, d]));
  const devices: SimDevice[] = scenario.devices.map((d) => {
    const given = known.get(d.serial);
    return { serial: d.serial, home: given?.home ?? d.home, secret: given?.secret ?? d.secret ?? d.serial };
  });
  const simulator = createSimulator({
    mqttUrl: args.mqttUrl,
    devices,
    options: mergeOptions(scenario.options, args.options),
    logger: args.logger.child({ scenario: scenario.name }),
    timeline: scenario.timeline,
    durationMs: scenario.endMs,
    ...(args.clock ? { clock: args.clock } : {}),
    ...(args.random ? { random: args.random } : {}),
    ...(args.onEvent ? { onEvent: args.onEvent } : {}),
  });
  try {
    await simulator.start();
    await simulator.finished();
  } finally {
    await simulator.stop();
  }
  return simulator.stats();
}
