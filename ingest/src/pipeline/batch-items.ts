/**
 * What the batch writer (writer.ts) is handed and makes of it: a pending message and its
 * acknowledgement, a batch's input for the store, and the dead-letter rows of messages the database
 * refused (marked as redelivered, or bare when even that was refused).
 */
import {
  type DeadLetterReason,
  type DeadLetterRow,
  type Decision,
  deadLetterOfStored,
  type StoreDecision,
} from "./decide";
import { errorDetail } from "./storage-errors";
import type { BatchInput } from "./store";

export interface PendingMessage {
  decision: Decision;
  receivedAt: number;
  /** Tells the sender the message is safe (MQTT PUBACK, HTTP 200). Called once, after commit. */
  ack: () => void;
  /** The broker sent it before (MQTT DUP): a crash may have come between our commit and our PUBACK. */
  redelivered?: boolean;
  /** Tells the sender it was not stored (HTTP 503) when ingest stops without committing it. */
  nack?: () => void;
}

/** A batch for the store: decisions to store, dead letters (marked), and which were redelivered. */
export function toBatch(items: PendingMessage[]): BatchInput {
  const stores: StoreDecision[] = [];
  const deadLetters: DeadLetterRow[] = [];
  const redelivered = new Set<StoreDecision>();
  for (const item of items) {
    if (item.decision.kind === "store") {
      stores.push(item.decision);
      if (item.redelivered) redelivered.add(item.decision);
    } else deadLetters.push(marked(item, item.decision.row));
  }
  return { stores, deadLetters, redelivered };
}

/** The dead letter of a message the database refused (or the one it already was). */
export function refusedRow(item: PendingMessage, reason: DeadLetterReason, cause: unknown): DeadLetterRow {
  const d = item.decision;
  if (d.kind === "dead_letter") return marked(item, d.row);
  return marked(item, deadLetterOfStored(d, reason, errorDetail(cause), item.receivedAt));
}

/** The least a dead letter can be: no text from the device but its bytes. */
export function bare(row: DeadLetterRow): DeadLetterRow {
  return {
    ...row,
    topic: Buffer.from(row.topic, "utf8").toString("base64url").slice(0, 512),
    detail: null,
    payloadExcerpt: "",
  };
}

/** A dead letter carries its message's redelivery mark (MQTT DUP), so storing it looks for the first copy. */
function marked(item: PendingMessage, row: DeadLetterRow): DeadLetterRow {
  return item.redelivered ? { ...row, redelivered: true } : row;
}
