import { downlinkTopic } from "@vakt/schemas";
import mqtt from "mqtt";
import type { Logger } from "pino";
import type { DeviceCommandPublisher } from "./deps";

export interface MqttDeviceCommandsOptions {
  mqttUrl: string;
  username?: string | undefined;
  password?: string | undefined;
  logger: Logger;
}

/** Publishes retained device configuration, commands and alarm acknowledgements; mqtt.js reconnects and queues while the broker is away. */
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
  client.on("connect", () => logger.info("mqtt connected"));
  return {
    publisher: {
      async publishConfig(serial, message) {
        await client.publishAsync(downlinkTopic(serial, "config"), JSON.stringify(message), {
          qos: 1,
          retain: true,
        });
      },
      async publishCommand(serial, message) {
        await client.publishAsync(downlinkTopic(serial, "command"), JSON.stringify(message), { qos: 1 });
      },
      async publishAck(serial, message) {
        await client.publishAsync(downlinkTopic(serial, "ack"), JSON.stringify(message), { qos: 1 });
      },
      async publishOwntracksCommand(topic, message) {
        await client.publishAsync(topic, JSON.stringify(message), { qos: 1 });
      },
    },
    close: () => client.endAsync(true),
  };
}
