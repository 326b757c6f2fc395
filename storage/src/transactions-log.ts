/**
 * The transactions log (Safemate's "transaksjonslogg": every message between device and platform)
 * is `device_messages`. Ingest writes each uplink in its batch; this writes a downlink, once the
 * broker has taken it, from whichever process sent it (the api: configuration, commands, staff's
 * acknowledgements; ingest: the "received" acknowledgement of an alarm).
 */
import type { Queryable } from "./pool";

/** What the log keeps of a downlink (@vakt/schemas' `Downlink` carries all of it). */
export interface LoggedDownlink {
  /** The device the message is for. */
  serial: string;
  topic: string;
  payload: string;
  /** config, command, ack or owntracks_command. */
  kind: string;
  /** What it answers or names (a command's id, the alarm message an ack confirms); null for none. */
  messageId: string | null;
}

/**
 * Logs a downlink as sent now; false when no device has that serial (it was deleted since).
 * clock_timestamp, not now(): two downlinks in one transaction are two entries.
 */
export async function logDownlink(db: Queryable, d: LoggedDownlink): Promise<boolean> {
  const r = await db.query(
    `INSERT INTO device_messages (time, device_id, organisation_id, direction, topic, message_id, kind, payload_text)
     SELECT clock_timestamp(), id, organisation_id, 'downlink', $2, $3, $4, $5 FROM devices WHERE serial = $1
     ON CONFLICT DO NOTHING`,
    [d.serial, d.topic, d.messageId, d.kind, d.payload],
  );
  return r.rowCount === 1;
}
