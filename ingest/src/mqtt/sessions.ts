/**
 * Ingest's two MQTT sessions (ingest.ts): what each subscribes to, and where the main session's
 * messages go (the broker's connection log, OwnTracks, the native contract). Alarms also arrive on a
 * session of their own, so they never queue behind a backlog of positions; the main session lets
 * its copy go. The alarm session runs in the main thread or in a worker thread of its own
 * (alarm-lane/), the same code either way.
 */
import { type Downlink, downlinks, ingestSubscription, parseDeviceTopic, uplinkTopic } from "@vakt/schemas";
import { logDownlink, type Queryable } from "@vakt/storage";
import type pg from "pg";
import type { Logger } from "pino";
import { applyPresence, BROKER_LOG_TOPIC, parseBrokerLogLine } from "../broker/presence";
import type { IngestMetrics } from "../metrics";
import type { Pipeline } from "../pipeline/pipeline";
import type { AlarmOutcome } from "../pipeline/store";
import { OWNTRACKS_SUBSCRIPTIONS, owntracksDecision, owntracksRoute } from "../trackers/owntracks";
import { type ConsumerOptions, MqttConsumer } from "./consumer";

export function sessionSubscriptions(o: {
  shared: boolean;
  group: string;
  owntracks: boolean;
  brokerPresence: boolean;
}): { main: string[]; alarms: string[] } {
  const unshare = (filter: string) => filter.replace(/^\$share\/[^/]+\//, "");
  const main = [o.shared ? ingestSubscription(o.group) : unshare(ingestSubscription(o.group))];
  const alarmFilter = uplinkTopic("+", "alarm");
  const alarms = [o.shared ? `$share/${o.group}/${alarmFilter}` : alarmFilter];
  if (o.owntracks)
    for (const f of OWNTRACKS_SUBSCRIPTIONS) main.push(o.shared ? `$share/${o.group}/${f}` : f);
  // Not shared: every instance applies every line, and applying one twice changes nothing.
  if (o.brokerPresence) main.push(BROKER_LOG_TOPIC);
  return { main, alarms };
}

/**
 * Applies the broker's connection log (broker/presence.ts) one line at a time, in the broker's
 * order: a drop and the reconnect after it must not swap. `settled()` waits for what is queued.
 */
export function presenceFollower(o: {
  pool: pg.Pool;
  metrics: IngestMetrics;
  logger: Logger;
  now: () => number;
  /** The device's row changed under the writer (its throttle must write the next update). */
  changed: (deviceId: string) => void;
}) {
  let presence = Promise.resolve();
  return {
    onLine(payload: Buffer) {
      const event = parseBrokerLogLine(payload.toString("utf8"));
      if (!event) return;
      presence = presence.then(async () => {
        try {
          const changed = await applyPresence(o.pool, event, o.now());
          if (changed) o.changed(changed);
          o.metrics.brokerPresence.inc({
            change: changed ? (event.connected ? "online" : "offline") : "unchanged",
          });
        } catch (err) {
          // The heartbeat timeout still catches a drop whose report could not be applied.
          o.logger.warn({ err, clientId: event.clientId }, "broker presence report not applied");
        }
      });
    },
    settled: () => presence,
  };
}

/** The main session's messages: the broker's log, OwnTracks, alarms (taken by the alarm session), the rest. */
export function mainSessionHandler(o: {
  pipeline: Pipeline;
  metrics: IngestMetrics;
  maxPayloadBytes: number;
  onBrokerLog: (payload: Buffer) => void;
}): ConsumerOptions["onMessage"] {
  return (topic, payload, ack, redelivered, retained) => {
    if (topic === BROKER_LOG_TOPIC) {
      ack();
      o.onBrokerLog(payload);
    } else if (topic.startsWith("owntracks/")) {
      o.metrics.messagesIn.inc({ transport: "mqtt", kind: "owntracks" });
      const route = owntracksRoute(topic, payload, retained);
      if (route.kind === "ignore") {
        o.metrics.owntracksIgnored.inc({ subtopic: route.sub });
        ack();
        return;
      }
      o.pipeline.acceptWith(
        route.serial,
        ack,
        (lookup, at) => owntracksDecision(topic, payload, at, lookup, o.maxPayloadBytes),
        redelivered,
        { raw: { topic, payload, transport: "mqtt" } },
      );
    } else if (isAlarmTopic(topic)) {
      ack();
    } else {
      o.pipeline.accept(topic, payload, "mqtt", ack, redelivered);
    }
  };
}

function isAlarmTopic(topic: string): boolean {
  if (!topic.endsWith("/up/alarm")) return false;
  const t = parseDeviceTopic(topic);
  return t.ok && t.direction === "up" && t.kind === "alarm";
}

/** The alarm session (client id `<INGEST_CLIENT_ID>-alarms`): every message straight into its pipeline. */
export function alarmSession(o: {
  url: string;
  clientId: string;
  username?: string;
  password?: string;
  subscriptions: string[];
  protocolVersion: 4 | 5;
  logger: Logger;
  pipeline: Pipeline;
}): MqttConsumer {
  return new MqttConsumer({
    url: o.url,
    clientId: `${o.clientId}-alarms`,
    ...(o.username !== undefined ? { username: o.username } : {}),
    ...(o.password !== undefined ? { password: o.password } : {}),
    subscriptions: o.subscriptions,
    protocolVersion: o.protocolVersion,
    receiveMaximum: 1_000,
    logger: o.logger.child({ session: "alarms" }),
    onMessage: (topic, payload, ack, redelivered) => {
      o.pipeline.accept(topic, payload, "mqtt", ack, redelivered);
    },
  });
}

/**
 * Tells each device its alarm was stored (the "received" ack), on the alarm session when it is up;
 * each ack the broker took is written to the transactions log on `log` (after the alarm's commit and
 * apart from it: what is logged was sent).
 */
export function tellDevices(
  alarms: AlarmOutcome[],
  via: Pick<MqttConsumer, "publish"> | undefined,
  now: () => number,
  logger: Logger,
  log: Queryable,
): void {
  for (const a of alarms) {
    // A throw here would fail the committed batch: a message the contract refuses is logged instead.
    let ack: Downlink;
    try {
      ack = downlinks.ack(a.device.serial, {
        v: 1,
        ackOf: a.messageId,
        status: a.ackStatus,
        alarmId: a.alarmId,
        at: now(),
      });
    } catch (err) {
      logger.error({ err, alarmId: a.alarmId }, "alarm acknowledgement refused by the downlink contract");
      continue;
    }
    via?.publish(ack, (sent) => {
      logDownlink(log, sent).catch((err: unknown) =>
        logger.error(
          { err, serial: sent.serial, alarmId: a.alarmId },
          "alarm acknowledgement sent but not written to the transactions log",
        ),
      );
    });
  }
}
