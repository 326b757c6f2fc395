/**
 * A device's desired configuration: set by an administrator, published retained over the downlink
 * contract (@vakt/schemas' downlink.ts), and sent again to devices that have not confirmed it.
 */
import type { Device, DeviceSettings } from "@vakt/schemas";
import { withTransaction } from "@vakt/storage";
import { logActivity } from "../activity/writer";
import type { ApiDeps } from "../deps";
import { ApiError } from "../errors";
import { allowedDepartments } from "../policy";
import { found } from "../service-helpers";
import { type ActorCaller, type DeviceRow, lockDevice, returningDevices, settingsOf, toDevice } from "./rows";

/** Publishes the desired configuration (retained). A failure is logged: the device gets it on the next change. */
export async function publishDesiredConfig(deps: ApiDeps, device: Device) {
  // An OsmAnd device has no MQTT downlink: there is nothing to publish its configuration to.
  if (device.protocol === "osmand") return;
  try {
    await deps.deviceCommands.publishConfig(device.serial, device.desiredConfigVersion, device.desiredConfig);
  } catch (err) {
    deps.logger.error({ err, deviceId: device.id }, "publishing device configuration failed");
  }
}

/**
 * Sends the desired configuration again to every device that has not confirmed it (reported
 * another version or none): a publish that failed, or a broker that forgot its retained messages
 * (the embedded one keeps them in memory), would otherwise leave a device on its old settings
 * until the next change. Runs when the API's MQTT connection comes up. A row a configuration change
 * holds is skipped: that change publishes its own, newer version, and this one must not land after it.
 */
export async function republishPendingConfigs(
  deps: Pick<ApiDeps, "pool" | "logger">,
  publisher: ApiDeps["deviceCommands"],
): Promise<number> {
  return withTransaction(deps.pool, async (tx) => {
    const { rows } = await tx.query<{
      serial: string;
      desired_config: unknown;
      desired_config_version: number;
    }>(
      `SELECT serial, desired_config, desired_config_version FROM devices
        WHERE retired_at IS NULL AND protocol <> 'osmand'
          AND reported_config_version IS DISTINCT FROM desired_config_version
        FOR SHARE SKIP LOCKED`,
    );
    await Promise.all(
      rows.map((r) =>
        publisher.publishConfig(r.serial, r.desired_config_version, settingsOf(r.desired_config)),
      ),
    );
    if (rows.length > 0)
      deps.logger.info({ devices: rows.length }, "unconfirmed device configurations sent again");
    return rows.length;
  });
}

export async function configureDevice(
  deps: ApiDeps,
  caller: ActorCaller,
  id: string,
  settings: DeviceSettings,
) {
  const allowed = await allowedDepartments(deps.pool, caller.actor, "device:configure");
  const device = await withTransaction(deps.pool, async (tx) => {
    const before = await lockDevice(tx, caller, allowed, id);
    if (before.retired_at) throw new ApiError("conflict", "This device is retired.");
    const { rows } = await tx.query<DeviceRow>(
      returningDevices(`UPDATE devices SET desired_config = $3, desired_config_version = desired_config_version + 1, updated_at = $4
        WHERE organisation_id = $1 AND id = $2`),
      [caller.organisationId, id, JSON.stringify(settings), caller.now],
    );
    const after = toDevice(found(rows[0], "device"));
    await logActivity(tx, caller, {
      action: "device.configured",
      subjectType: "device",
      subjectId: id,
      recipientIds: before.recipient_id ? [before.recipient_id] : [],
      details: {
        version: after.desiredConfigVersion,
        before: settingsOf(before.desired_config),
        after: after.desiredConfig,
      },
    });
    return after;
  });
  await publishDesiredConfig(deps, device);
  return device;
}
