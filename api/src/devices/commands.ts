import { type DeviceCommandPublisher, deviceCommandPublisher, type SendDownlink } from "@vakt/schemas";
import { logDownlink, type Queryable } from "@vakt/storage";
import mqtt from "mqtt";
import type { Logger } from "pino";

/**
 * `send`, and each downlink the broker took written to the transactions log (device_messages,
 * direction downlink). The log is written after the send: what is logged was sent. A log that
 * cannot be written does not fail the command (the device has it); it is said, with the message.
 */
export function loggedDownlinks(send: SendDownlink, db: Queryable, logger: Logger): SendDownlink {
  return async (d) => {
    await send(d);
    try {
      await logDownlink(db, d);
    } catch (err) {
      logger.error(
        { err, serial: d.serial, topic: d.topic, kind: d.kind, messageId: d.messageId },
        "downlink sent but not written to the transactions log",
      );
    }
  };
}

export interface MqttDeviceCommandsOptions {
  mqttUrl: string;
  /** Where each downlink sent is logged (device_messages). */
  transactionsLog: Queryable;
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
  const publisher = deviceCommandPublisher(loggedDownlinks(send, options.transactionsLog, logger));
  client.on("connect", () => {
    logger.info("mqtt connected");
    options.onConnect?.(publisher);
  });
  return { publisher, close: () => client.endAsync(true) };
}
