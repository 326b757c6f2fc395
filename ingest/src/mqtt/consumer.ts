/**
 * The one module that holds the ingest MQTT connection: a persistent session
 * (fixed client id, clean: false, and on MQTT 5 a session that outlives
 * restarts), QoS 1 subscriptions, and PUBACKs deferred until the caller says
 * the message is committed.
 *
 * mqtt.js handles incoming packets one at a time and sends the PUBACK when
 * `handleMessage`'s callback runs, so deferring that callback would stall the
 * connection at one message per commit. Instead `handleMessage` hands the
 * message on and returns at once, telling mqtt.js to skip its PUBACK; the
 * PUBACK is written later by `ack()`. An ack from an earlier connection is
 * dropped: the broker redelivers that message on the new one, and storage is
 * idempotent. The acks of a committed batch (hundreds at once) are written as
 * one buffer of PUBACK packets in one socket write, in the order the messages
 * were delivered (ack-order.ts: Mosquitto's CPU per message); mqtt.js keeps no
 * state about incoming QoS 1 messages once its own PUBACK was skipped.
 */

import type { Downlink } from "@vakt/schemas";
import mqtt, { type IClientOptions, type IPublishPacket, type MqttClient } from "mqtt";
import type { Logger } from "pino";
import { AckOrder } from "./ack-order";
import { HeldBytes } from "./held-bytes";

export interface ConsumerOptions {
  url: string;
  clientId: string;
  username?: string;
  password?: string;
  /** Topic filters to subscribe with QoS 1. */
  subscriptions: string[];
  /** 5 (default; Mosquitto) or 4 (MQTT 3.1.1, e.g. the embedded aedes broker). */
  protocolVersion?: 4 | 5;
  /** MQTT 5: how many unacknowledged messages the broker may have in flight to us. */
  receiveMaximum?: number;
  /** MQTT 5: how long the broker keeps our session (and what it queues) while we are away. */
  sessionExpirySeconds?: number;
  /** How long a committed message's PUBACK may wait for an earlier message's commit (ack-order.ts; default 200). */
  ackHoldMaxMs?: number;
  logger: Logger;
  /**
   * While the payloads handed over and not yet acknowledged come to this many bytes, the next
   * message waits for room (at most HOLD_MAX_MS): mqtt.js reads no further and the broker keeps the
   * rest, so what ingest holds is bounded by bytes (held-bytes.ts). Default: no bound.
   */
  maxHeldBytes?: number;
  /** `redelivered`: the broker's DUP flag, set when it sends a message again (e.g. after we died before acking). */
  /** `retained`: a stored retained message the broker hands a new subscription, not one published now. */
  onMessage: (
    topic: string,
    payload: Buffer,
    ack: () => void,
    redelivered: boolean,
    retained: boolean,
  ) => void;
}

/** Tells mqtt.js not to send its own PUBACK; the error is ignored by its packet loop. */
const DEFERRED_ACK = new Error("puback deferred until commit");

/** How long message handling may hold the event loop before it lets other work in. */
const YIELD_AFTER_MS = 2;

/** Long beside a commit, short beside the keepalive (30 s): a PINGRESP behind a held message is read in time. */
const HOLD_MAX_MS = 5_000;

/** PUBACK, success, no properties: 4 bytes in MQTT 3.1.1 and 5 alike (MQTT 5 may omit reason code 0). */
const PUBACK_BYTES = 4;

/** Longer than a lane's commit takes under load, short beside the receive window's worth of messages. */
const ACK_HOLD_MAX_MS = 200;

export class MqttConsumer {
  private client: MqttClient | undefined;
  private generation = 0;
  private paused = false;
  /** See `maxHeldBytes`. */
  private readonly held: HeldBytes | undefined;
  /** Messages wait for room (see `maxHeldBytes`): logged when it starts and when half the bound is free. */
  private holding = false;
  /** When the current run of message handling started (see `handle`). */
  private sliceStart = 0;
  /** Messages delivered on the current connection, acknowledged in delivery order once the current tick is done. */
  private readonly acks: AckOrder;
  private acksScheduled = false;

  constructor(private readonly options: ConsumerOptions) {
    this.acks = new AckOrder({
      write: (ids) => this.writeAcks(ids),
      holdMaxMs: options.ackHoldMaxMs ?? ACK_HOLD_MAX_MS,
    });
    this.held = options.maxHeldBytes !== undefined ? new HeldBytes(options.maxHeldBytes) : undefined;
  }

  /** The most the payloads handed over and not yet acknowledged came to at once (with maxHeldBytes). */
  get heldBytesPeak(): number {
    return this.held?.peak ?? 0;
  }

  get mqtt(): MqttClient | undefined {
    return this.client;
  }

  get connected(): boolean {
    return this.client?.connected ?? false;
  }

  async start(): Promise<void> {
    const o = this.options;
    const v5 = (o.protocolVersion ?? 5) === 5;
    const opts: IClientOptions = {
      clientId: o.clientId,
      clean: false,
      protocolVersion: o.protocolVersion ?? 5,
      reconnectPeriod: 1_000,
      connectTimeout: 10_000,
      keepalive: 30,
      resubscribe: false,
      // mqtt.js traces every packet through the debug module (several calls each, even when off).
      ...(process.env.DEBUG ? {} : { log: () => {} }),
      ...(o.username !== undefined ? { username: o.username } : {}),
      ...(o.password !== undefined ? { password: o.password } : {}),
      ...(v5
        ? {
            properties: {
              sessionExpiryInterval: o.sessionExpirySeconds ?? 7 * 24 * 3600,
              receiveMaximum: Math.min(65_535, o.receiveMaximum ?? 10_000),
            },
          }
        : {}),
    };
    const client = mqtt.connect(o.url, opts);
    this.client = client;
    client.handleMessage = (packet: IPublishPacket, callback) => this.handle(packet, callback);
    client.on("connect", (connack) => {
      this.generation++;
      o.logger.info({ sessionPresent: connack.sessionPresent }, "mqtt connected");
      client.subscribe(
        Object.fromEntries(o.subscriptions.map((s) => [s, { qos: 1 as const }])),
        (err, granted) => {
          if (err) o.logger.error({ err }, "mqtt subscribe failed");
          else o.logger.info({ granted: granted?.map((g) => `${g.topic}:${g.qos}`) }, "mqtt subscribed");
        },
      );
    });
    client.on("close", () => {
      this.generation++;
      this.acks.reset();
      this.held?.reset();
    });
    client.on("error", (err) => o.logger.warn({ err: err.message }, "mqtt error"));
    client.on("offline", () => o.logger.warn("mqtt offline; reconnecting"));
    await new Promise<void>((resolve, reject) => {
      const onConnect = () => {
        client.off("error", onError);
        resolve();
      };
      const onError = (err: Error) => {
        // Authentication failures are final; anything else is retried by mqtt.js.
        if ("code" in err && (err.code === 4 || err.code === 5 || err.code === 134 || err.code === 135)) {
          client.off("connect", onConnect);
          client.end(true);
          reject(err);
        }
      };
      client.once("connect", onConnect);
      client.on("error", onError);
    });
  }

  private handle(packet: IPublishPacket, callback: (err?: Error) => void): void {
    const generation = this.generation;
    const messageId = packet.messageId;
    if (this.paused) {
      // Stopping: leave it unacknowledged; the broker redelivers it to the session later.
      callback(packet.qos > 0 ? DEFERRED_ACK : undefined);
      return;
    }
    const payload = Buffer.isBuffer(packet.payload) ? packet.payload : Buffer.from(packet.payload);
    const delivery = packet.qos === 1 && messageId !== undefined ? this.acks.delivered(messageId) : undefined;
    const held = this.held;
    const size = payload.byteLength;
    held?.add(size);
    let released = false;
    const release = () => {
      if (released) return;
      released = true;
      if (generation === this.generation) held?.remove(size);
    };
    const ack = delivery
      ? () => {
          release();
          // An ack from an earlier connection: the broker sends that message again on this one.
          if (generation !== this.generation) return;
          this.acks.committed(delivery);
          if (!this.acksScheduled) {
            this.acksScheduled = true;
            setImmediate(this.flushAcks);
          }
        }
      : release;
    const now = performance.now();
    if (now - this.sliceStart > YIELD_AFTER_MS) this.sliceStart = now;
    try {
      this.options.onMessage(packet.topic, payload, ack, packet.dup === true, packet.retain === true);
    } finally {
      this.next(packet.qos === 1 ? DEFERRED_ACK : undefined, callback);
    }
  }

  /** Lets mqtt.js go on to the next packet: now, after the event loop has turned, or once there is room. */
  private next(result: Error | undefined, callback: (err?: Error) => void): void {
    const hold = this.held;
    if (hold?.over()) {
      this.holdingNow(true);
      void hold.room(HOLD_MAX_MS).then(() => {
        this.holdingNow(hold.value >= hold.limit / 2);
        this.sliceStart = performance.now();
        callback(result);
      });
      return;
    }
    // mqtt.js hands over every packet of a socket read before it returns to the event loop. A long
    // run of them (a backlog of positions) would hold up everything else this process waits for
    // (the alarm session, database replies): after YIELD_AFTER_MS of handling, let the loop turn.
    if (performance.now() - this.sliceStart > YIELD_AFTER_MS) {
      setImmediate(() => {
        this.sliceStart = performance.now();
        callback(result);
      });
    } else {
      callback(result);
    }
  }

  private holdingNow(holding: boolean): void {
    if (holding === this.holding) return;
    this.holding = holding;
    const held = { heldBytes: this.held?.value, maxHeldBytes: this.held?.limit };
    if (holding)
      this.options.logger.warn(held, "mqtt: waiting to take more messages until ingest holds less");
    else this.options.logger.info(held, "mqtt: taking messages freely again");
  }

  private readonly flushAcks = (): void => {
    this.acksScheduled = false;
    this.acks.flush();
  };

  private writeAcks(ids: number[]): void {
    const c = this.client;
    // Acks of an earlier connection were dropped when it closed (see "close").
    if (!c?.connected || ids.length === 0) return;
    const buf = Buffer.allocUnsafe(ids.length * PUBACK_BYTES);
    let o = 0;
    for (const id of ids) {
      buf[o] = 0x40;
      buf[o + 1] = 2;
      buf.writeUInt16BE(id, o + 2);
      o += PUBACK_BYTES;
    }
    c.stream.write(buf);
  }

  /** Stops taking messages; those that still arrive stay unacknowledged for the next session. */
  pause(): void {
    this.paused = true;
  }

  /**
   * Sends a downlink (@vakt/schemas' contract gives topic, QoS, retain) without waiting for the
   * broker; `sent` runs once the broker has it (its PUBACK).
   */
  publish(downlink: Downlink, sent?: (d: Downlink) => void): void {
    const { topic, payload, qos, retain } = downlink;
    this.client?.publish(topic, payload, { qos, retain }, (err) => {
      if (err) this.options.logger.warn({ err: err.message, topic }, "mqtt publish failed");
      else sent?.(downlink);
    });
  }

  async stop(): Promise<void> {
    const c = this.client;
    if (!c) return;
    await c.endAsync(false);
  }
}
