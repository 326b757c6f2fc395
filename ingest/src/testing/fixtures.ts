/** Test data: every test makes its own organisation, department, recipients and devices. */
import { randomBytes } from "node:crypto";
import {
  deviceSecretSha256,
  generateDeviceSecret,
  generateOsmandDeviceId,
  mosquittoPasswordHash,
} from "@vakt/storage";
import type pg from "pg";

export interface TestOrganisation {
  orgId: string;
  deptId: string;
}

export interface TestDevice {
  id: string;
  serial: string;
  /** The MQTT secret (empty for an OsmAnd device, which has none). */
  secret: string;
  recipientId: string | null;
  /** The identifier issued to an OsmAnd device (what the Traccar Client app sends as `id`). */
  osmandId: string | null;
}

export const uniqueName = (prefix: string) => `${prefix}-${randomBytes(5).toString("hex")}`;

export async function makeOrganisation(pool: pg.Pool): Promise<TestOrganisation> {
  const slug = uniqueName("org");
  const org = await pool.query<{ id: string }>(
    "INSERT INTO organisations (name, slug) VALUES ($1, $1) RETURNING id",
    [slug],
  );
  const orgId = org.rows[0]?.id as string;
  const dept = await pool.query<{ id: string }>(
    `INSERT INTO departments (id, organisation_id, name, ancestry)
     SELECT g, $1, 'Home care', ARRAY[g] FROM gen_random_uuid() g RETURNING id`,
    [orgId],
  );
  return { orgId, deptId: dept.rows[0]?.id as string };
}

export async function makeRecipient(pool: pg.Pool, org: TestOrganisation): Promise<string> {
  const r = await pool.query<{ id: string }>(
    `INSERT INTO recipients (organisation_id, department_id, first_name, last_name, legal_basis)
     VALUES ($1, $2, 'Test', 'Person', 'consent') RETURNING id`,
    [org.orgId, org.deptId],
  );
  return r.rows[0]?.id as string;
}

export async function makeDevice(
  pool: pg.Pool,
  org: TestOrganisation,
  options: {
    recipient?: boolean;
    desiredConfig?: object;
    mosquittoHash?: boolean;
    protocol?: "mqtt" | "owntracks" | "osmand";
  } = {},
): Promise<TestDevice> {
  const serial = uniqueName("SN").replace(".", "_");
  const protocol = options.protocol ?? "mqtt";
  const osmand = protocol === "osmand";
  const secret = osmand ? "" : generateDeviceSecret();
  const osmandId = osmand ? generateOsmandDeviceId() : null;
  const recipientId = options.recipient ? await makeRecipient(pool, org) : null;
  const r = await pool.query<{ id: string }>(
    `INSERT INTO devices (organisation_id, department_id, serial, mqtt_secret_sha256, mqtt_secret_mosquitto,
                          recipient_id, desired_config, protocol, osmand_id_sha256)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING id`,
    [
      org.orgId,
      org.deptId,
      serial,
      osmand ? null : deviceSecretSha256(secret),
      options.mosquittoHash && !osmand ? mosquittoPasswordHash(secret) : null,
      recipientId,
      JSON.stringify(options.desiredConfig ?? {}),
      protocol,
      osmandId ? deviceSecretSha256(osmandId) : null,
    ],
  );
  return { id: r.rows[0]?.id as string, serial, secret, recipientId, osmandId };
}

/** What the device directory hands decide for a test device. */
export function refOf(device: TestDevice, org: TestOrganisation) {
  return {
    id: device.id,
    serial: device.serial,
    organisationId: org.orgId,
    departmentId: org.deptId,
    recipientId: device.recipientId,
  };
}
