import type { Device, DeviceCredentials, DeviceProtocol } from "@vakt/schemas";
import {
  deviceSecretSha256,
  generateDeviceSecret,
  generateOsmandDeviceId,
  mosquittoPasswordHash,
} from "@vakt/storage";

/**
 * New credentials for a protocol: an MQTT password (SHA-256 for the embedded broker, PBKDF2 for
 * Mosquitto's files) or, for OsmAnd, an identifier for the Traccar Client app (SHA-256 only). The
 * columns of the other kind are cleared, so a device has exactly one way in.
 */
export function newCredentials(protocol: DeviceProtocol) {
  if (protocol === "osmand") {
    const osmandId = generateOsmandDeviceId();
    return {
      protocol,
      secret: osmandId,
      sha256: null,
      mosquitto: null,
      osmandSha256: deviceSecretSha256(osmandId),
    };
  }
  const secret = generateDeviceSecret();
  return {
    protocol,
    secret,
    sha256: deviceSecretSha256(secret),
    mosquitto: mosquittoPasswordHash(secret),
    osmandSha256: null,
  };
}

/** What the administrator is shown once. */
export function credentialsOf(device: Device, creds: ReturnType<typeof newCredentials>): DeviceCredentials {
  return device.protocol === "osmand"
    ? { protocol: "osmand", device, osmandDeviceId: creds.secret }
    : { protocol: device.protocol, device, mqttUsername: device.serial, mqttPassword: creds.secret };
}
