/**
 * OsmAnd authentication: the identifier a Traccar Client app sends (`id`,
 * `deviceid` or `device_id`) is the secret issued at provisioning, stored
 * only as its SHA-256 (`devices.osmand_id_sha256`). A request is the device's
 * only when that hash belongs to an active device provisioned for OsmAnd; a
 * serial, a wrong or shortened identifier, or an MQTT device's anything finds
 * nothing, and all of them are answered alike.
 */
import {
  deviceSecretSha256,
  looksLikeOsmandDeviceId,
  type Queryable,
  verifyDeviceSecret,
} from "@vakt/storage";

/** Resolves a presented identifier to the serial of the device it was issued to, or undefined. */
export type OsmandAuthenticator = (presented: string) => Promise<string | undefined>;

export function osmandAuthenticator(db: Queryable): OsmandAuthenticator {
  return async (presented) => {
    // Only the shape of an issued identifier is worth a look-up; that shape is public.
    if (!looksLikeOsmandDeviceId(presented)) return undefined;
    // Looked up by the hash (the index gives away nothing about the secret), then compared in
    // constant time, so no answer depends on how much of an identifier was right.
    const { rows } = await db.query<{ serial: string; sha: string }>(
      `SELECT serial, osmand_id_sha256 AS sha FROM devices
        WHERE osmand_id_sha256 = $1 AND protocol = 'osmand' AND retired_at IS NULL`,
      [deviceSecretSha256(presented)],
    );
    const row = rows[0];
    return row && verifyDeviceSecret(presented, row.sha) ? row.serial : undefined;
  };
}
