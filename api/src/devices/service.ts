/** Devices: list, read, provision, credentials, assignment and swap (configuration: config.ts). */
import { type Device, type DeviceProtocol, type DeviceSettings, defaultDeviceSettings } from "@vakt/schemas";
import { withTransaction } from "@vakt/storage";
import { logActivity } from "../activity/writer";
import { pseudonym } from "../auth/secrets";
import type { ApiDeps } from "../deps";
import { ApiError } from "../errors";
import { allowedDepartments } from "../policy";
import { isPseudonymous, recipientIdFor, refuseRealId } from "../recipients/service";
import { found, inAllowed } from "../service-helpers";
import { publishDesiredConfig } from "./config";
import { credentialsOf, newCredentials } from "./credentials";
import {
  type ActorCaller,
  type DeviceRow,
  lockDevice,
  returningDevices,
  SELECT_DEVICES,
  settingsOf,
  toDevice,
} from "./rows";

export { configureDevice, republishPendingConfigs } from "./config";

export async function listDevices(deps: ApiDeps, caller: ActorCaller) {
  const allowed = await allowedDepartments(deps.pool, caller.actor, "device:read");
  return withTransaction(deps.pool, async (tx) => {
    const { rows } = await tx.query<DeviceRow>(
      `${SELECT_DEVICES} WHERE organisation_id = $1 AND department_id = ANY($2::uuid[]) ORDER BY serial`,
      [caller.organisationId, allowed],
    );
    if (caller.actor.kind === "api_token") {
      const recipientIds = rows.flatMap((r) => (r.recipient_id ? [r.recipient_id] : []));
      await logActivity(tx, caller, { action: "device.listed", recipientIds });
    }
    return rows.map((r) => forCaller(deps, caller, toDevice(r)));
  });
}

export async function getDevice(deps: ApiDeps, caller: ActorCaller, id: string) {
  refuseRealId(caller.actor, "device");
  const allowed = await allowedDepartments(deps.pool, caller.actor, "device:read");
  const { rows } = await deps.pool.query<DeviceRow>(
    `${SELECT_DEVICES} WHERE organisation_id = $1 AND department_id = ANY($2::uuid[]) AND id = $3`,
    [caller.organisationId, allowed, id],
  );
  return forCaller(deps, caller, toDevice(found(rows[0], "device")));
}

/** Pseudonymous tokens see the recipient's pseudonym, as everywhere else. */
function forCaller(deps: ApiDeps, caller: ActorCaller, d: Device): Device {
  if (!isPseudonymous(caller.actor)) return d;
  const id = pseudonym(deps.config.PSEUDONYM_KEY, caller.organisationId, `device:${d.id}`);
  return {
    ...d,
    id,
    serial: id,
    imei: null,
    recipientId: d.recipientId
      ? recipientIdFor(deps, caller.actor, caller.organisationId, d.recipientId)
      : null,
  };
}

export async function provisionDevice(
  deps: ApiDeps,
  caller: ActorCaller,
  input: {
    departmentId: string;
    serial: string;
    imei?: string | undefined;
    model?: string | undefined;
    settings?: DeviceSettings | undefined;
    protocol?: DeviceProtocol | undefined;
  },
) {
  const allowed = await allowedDepartments(deps.pool, caller.actor, "device:manage");
  inAllowed(allowed, input.departmentId);
  const creds = newCredentials(input.protocol ?? "mqtt");
  const device = await withTransaction(deps.pool, async (tx) => {
    const { rows } = await tx.query<DeviceRow>(
      returningDevices(`INSERT INTO devices (organisation_id, department_id, serial, imei, model, mqtt_secret_sha256,
         mqtt_secret_mosquitto, desired_config, desired_config_version, created_at, updated_at,
         protocol, osmand_id_sha256)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 1, $9, $9, $10, $11)`),
      [
        caller.organisationId,
        input.departmentId,
        input.serial,
        input.imei ?? null,
        input.model ?? "generic",
        creds.sha256,
        creds.mosquitto,
        JSON.stringify(input.settings ?? defaultDeviceSettings),
        caller.now,
        creds.protocol,
        creds.osmandSha256,
      ],
    );
    const d = toDevice(found(rows[0], "device"));
    await logActivity(tx, caller, {
      action: "device.provisioned",
      subjectType: "device",
      subjectId: d.id,
      details: { serial: d.serial, departmentId: d.departmentId, protocol: d.protocol },
    });
    return d;
  });
  await publishDesiredConfig(deps, device);
  return credentialsOf(device, creds);
}

export async function rotateCredentials(deps: ApiDeps, caller: ActorCaller, id: string) {
  const allowed = await allowedDepartments(deps.pool, caller.actor, "device:manage");
  let creds: ReturnType<typeof newCredentials> | undefined;
  const device = await withTransaction(deps.pool, async (tx) => {
    const before = await lockDevice(tx, caller, allowed, id);
    creds = newCredentials(before.protocol);
    const { rows } = await tx.query<DeviceRow>(
      returningDevices(`UPDATE devices SET mqtt_secret_sha256 = $3, mqtt_secret_mosquitto = $4, osmand_id_sha256 = $5, updated_at = $6
        WHERE organisation_id = $1 AND id = $2`),
      [caller.organisationId, id, creds.sha256, creds.mosquitto, creds.osmandSha256, caller.now],
    );
    await logActivity(tx, caller, {
      action: "device.credentials_rotated",
      subjectType: "device",
      subjectId: id,
    });
    return toDevice(found(rows[0], "device"));
  });
  return credentialsOf(device, creds as ReturnType<typeof newCredentials>);
}

/** Assigns the device to a recipient (it moves to the recipient's department) or unassigns it. */
export async function assignDevice(
  deps: ApiDeps,
  caller: ActorCaller,
  id: string,
  recipientId: string | null,
) {
  const allowed = await allowedDepartments(deps.pool, caller.actor, "device:manage");
  return withTransaction(deps.pool, async (tx) => {
    const before = await lockDevice(tx, caller, allowed, id);
    if (before.retired_at) throw new ApiError("conflict", "This device is retired.");
    let departmentId = before.department_id;
    if (recipientId !== null) {
      const r = found(
        (
          await tx.query<{ department_id: string }>(
            `SELECT department_id FROM recipients
              WHERE organisation_id = $1 AND department_id = ANY($2::uuid[]) AND id = $3 AND status = 'active'`,
            [caller.organisationId, allowed, recipientId],
          )
        ).rows[0],
        "recipient",
      );
      departmentId = r.department_id;
    }
    const { rows } = await tx.query<DeviceRow>(
      returningDevices(`UPDATE devices SET recipient_id = $3, department_id = $4, updated_at = $5
        WHERE organisation_id = $1 AND id = $2`),
      [caller.organisationId, id, recipientId, departmentId, caller.now],
    );
    await logActivity(tx, caller, {
      action: recipientId ? "device.assigned" : "device.unassigned",
      subjectType: "device",
      subjectId: id,
      recipientIds: [before.recipient_id, recipientId].filter((x): x is string => x !== null),
      details: { changes: { recipientId: { before: before.recipient_id, after: recipientId } } },
    });
    return toDevice(found(rows[0], "device"));
  });
}

/**
 * Replaces a device: the replacement takes over the recipient, department and
 * settings (with a version above both), and the old device is retired.
 */
export async function swapDevice(deps: ApiDeps, caller: ActorCaller, id: string, replacementId: string) {
  if (id === replacementId) throw new ApiError("bad_request", "A device cannot replace itself.");
  const allowed = await allowedDepartments(deps.pool, caller.actor, "device:manage");
  const replacement = await withTransaction(deps.pool, async (tx) => {
    const old = await lockDevice(tx, caller, allowed, id);
    const next = await lockDevice(tx, caller, allowed, replacementId);
    if (old.retired_at || next.retired_at)
      throw new ApiError("conflict", "A retired device cannot be swapped.");
    if (next.recipient_id) throw new ApiError("conflict", "The replacement is already assigned to someone.");
    await tx.query(
      "UPDATE devices SET recipient_id = NULL, retired_at = $3, updated_at = $3 WHERE organisation_id = $1 AND id = $2",
      [caller.organisationId, id, caller.now],
    );
    const { rows } = await tx.query<DeviceRow>(
      returningDevices(`UPDATE devices SET recipient_id = $3, department_id = $4, desired_config = $5,
              desired_config_version = greatest($6::int, desired_config_version) + 1, updated_at = $7
        WHERE organisation_id = $1 AND id = $2`),
      [
        caller.organisationId,
        replacementId,
        old.recipient_id,
        old.department_id,
        JSON.stringify(settingsOf(old.desired_config)),
        old.desired_config_version,
        caller.now,
      ],
    );
    await logActivity(tx, caller, {
      action: "device.swapped",
      subjectType: "device",
      subjectId: id,
      recipientIds: old.recipient_id ? [old.recipient_id] : [],
      details: { replacementId, retired: id },
    });
    return toDevice(found(rows[0], "device"));
  });
  await publishDesiredConfig(deps, replacement);
  return replacement;
}
