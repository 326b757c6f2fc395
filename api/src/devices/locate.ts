/** "Locate now": a command to the device (or its OwnTracks app), for the caller's allowed departments. */
import { type OwntracksApp, owntracksReportLocation, parseOwntracksTopic } from "@vakt/schemas";
import { withTransaction } from "@vakt/storage";
import { logActivity } from "../activity/writer";
import { type ActorCaller, commandId } from "../alarms/rows";
import type { ApiDeps } from "../deps";
import { ApiError } from "../errors";
import { allowedDepartments, mayLocate } from "../policy";
import { LOCATOR_REASON_MIN_LENGTH } from "../positions/service";
import { refuseRealId } from "../recipients/service";
export async function locateRecipient(
  deps: ApiDeps,
  caller: ActorCaller,
  recipientId: string,
  reason: string | undefined,
): Promise<{ deviceId: string; commandId: string; sentAt: string }> {
  // As for a device: a read-only token is refused for the write before anything is looked up.
  if (!mayLocate(caller.actor))
    throw new ApiError("forbidden", "API tokens are read-only unless device:locate is granted.");
  refuseRealId(caller.actor, "recipient");
  const { rows } = await deps.pool.query<{ id: string }>(
    `SELECT id FROM devices WHERE organisation_id = $1 AND recipient_id = $2 AND retired_at IS NULL
      ORDER BY last_seen_at DESC NULLS LAST, id LIMIT 1`,
    [caller.organisationId, recipientId],
  );
  const device = rows[0];
  if (!device) throw new ApiError("not_found", "No such device.");
  return locateDevice(deps, caller, device.id, reason);
}

/** Asks the device for a position now (`locate`); logged with the reason. */
export async function locateDevice(
  deps: ApiDeps,
  caller: ActorCaller,
  deviceId: string,
  reason: string | undefined,
): Promise<{ deviceId: string; commandId: string; sentAt: string }> {
  if (!mayLocate(caller.actor))
    throw new ApiError("forbidden", "API tokens are read-only unless device:locate is granted.");
  refuseRealId(caller.actor, "device");
  // A token locates where it was granted device:locate (an integration: no reason asked); people
  // where they see positions, or with a reason where they may look one up.
  const token = caller.actor.kind === "api_token";
  const full = await allowedDepartments(deps.pool, caller.actor, token ? "device:locate" : "position:read");
  const locate = token ? [] : await allowedDepartments(deps.pool, caller.actor, "position:locate");
  const { rows } = await deps.pool.query<{
    serial: string;
    recipient_id: string | null;
    department_id: string;
    protocol: string;
  }>(
    `SELECT serial, recipient_id, department_id, protocol FROM devices
      WHERE organisation_id = $1 AND id = $2 AND retired_at IS NULL AND department_id = ANY($3::uuid[])`,
    [caller.organisationId, deviceId, [...full, ...locate]],
  );
  const device = rows[0];
  if (!device) throw new ApiError("not_found", "No such device.");
  if (!full.includes(device.department_id) && (reason ?? "").trim().length < LOCATOR_REASON_MIN_LENGTH)
    throw new ApiError(
      "reason_required",
      `Say why you ask for this position, in at least ${LOCATOR_REASON_MIN_LENGTH} characters.`,
    );
  // OsmAnd (Traccar Client) only sends over HTTP: nothing can reach it, so saying "sent" would mislead.
  if (device.protocol === "osmand")
    throw new ApiError(
      "conflict",
      "An OsmAnd device cannot be asked for a position; it reports at its own interval.",
    );
  // An OwnTracks app listens on its own topic + /cmd; the user segment is the one it last published under.
  const owntracksTopic =
    device.protocol === "owntracks" ? await owntracksTopicOf(deps, caller, deviceId) : null;
  if (device.protocol === "owntracks" && owntracksTopic === null)
    throw new ApiError(
      "conflict",
      "The OwnTracks app has not reported yet, so where it listens is not known.",
    );
  const id = commandId("loc");
  await withTransaction(deps.pool, (tx) =>
    logActivity(tx, caller, {
      action: "device.locate_requested",
      subjectType: "device",
      subjectId: deviceId,
      recipientIds: device.recipient_id ? [device.recipient_id] : [],
      reason: reason ?? null,
      details: { commandId: id },
    }),
  );
  if (owntracksTopic !== null) {
    await deps.deviceCommands.publishOwntracksCommand(owntracksTopic, owntracksReportLocation);
  } else {
    await deps.deviceCommands.publishCommand(device.serial, { v: 1, id, command: "locate" });
  }
  return { deviceId, commandId: id, sentAt: caller.now.toISOString() };
}

/** The user and device of the topic the device's newest OwnTracks message came on. */
async function owntracksTopicOf(
  deps: ApiDeps,
  caller: ActorCaller,
  deviceId: string,
): Promise<OwntracksApp | null> {
  const { rows } = await deps.pool.query<{ topic: string }>(
    `SELECT topic FROM device_messages
      WHERE organisation_id = $1 AND device_id = $2 AND direction = 'uplink' AND topic LIKE 'owntracks/%'
      ORDER BY time DESC LIMIT 1`,
    [caller.organisationId, deviceId],
  );
  const topic = rows[0]?.topic;
  const parsed = topic === undefined ? undefined : parseOwntracksTopic(topic);
  return parsed ? { user: parsed.user, device: parsed.device } : null;
}
