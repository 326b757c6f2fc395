import { type DeviceCommandPublisher, deviceCommandPublisher, type SendDownlink } from "@vakt/schemas";
import mqtt from "mqtt";
import type { Logger } from "pino";

export interface MqttDeviceCommandsOptions {
  mqttUrl: string;
  username?: string | undefined;
  password?: string | undefined;
  logger: Logger;
  /** After every (re)connect: e.g. send again what a broker without persistence forgot. */
  onConnect?: (publisher: DeviceCommandPublisher) => void;
}

/**
 * The api's MQTT connection for downlinks (configuration, commands, alarm acknowledgements); what
 * goes on which topic with which QoS and retain flag is @vakt/schemas' downlink contract, this only
 * publishes. mqtt.js reconnects and queues while the broker is away.
 */
export function mqttDeviceCommands(options: MqttDeviceCommandsOptions): {
  publisher: DeviceCommandPublisher;
  close(): Promise<void>;
} {
  const logger = options.logger.child({ component: "device-commands" });
  const client = mqtt.connect(options.mqttUrl, {
    clientId: `vakt-api-${process.pid}-${Math.random().toString(36).slice(2, 8)}`,
    ...(options.username ? { username: options.username } : {}),
    ...(options.password ? { password: options.password } : {}),
  });
  client.on("error", (err) => logger.warn({ err }, "mqtt"));
  const send: SendDownlink = async (d) => {
    await client.publishAsync(d.topic, d.payload, { qos: d.qos, retain: d.retain });
  };
  const publisher = deviceCommandPublisher(send);
  client.on("connect", () => {
    logger.info("mqtt connected");
    options.onConnect?.(publisher);
  });
  return { publisher, close: () => client.endAsync(true) };
}
