/**
 * A demo organisation for `npm start`: two districts with sub-departments,
 * staff in every role (all with the given password), recipients with devices.
 * Running it again keeps the data, resets the staff passwords and issues new
 * device secrets (only their hashes are stored, so old ones cannot be shown).
 */

import type { RoleKey } from "@vakt/schemas";
import { defaultDeviceSettings } from "@vakt/schemas";
import {
  deviceSecretSha256,
  generateDeviceSecret,
  mosquittoPasswordHash,
  withTransaction,
} from "@vakt/storage";
import { generateSecret, generateURI } from "otplib";
import type pg from "pg";
import { hashPassword } from "./auth/secrets";
import { OWASP_ARGON2ID, type PasswordHashingOptions } from "./deps";

export interface DemoSeed {
  organisationId: string;
  adminEmail: string;
  /** The administrators' second factor (the organisation requires one): TOTP secret and otpauth URI, new at each run. */
  adminTotp: { secret: string; otpauthUri: string };
  staff: { email: string; role: RoleKey; department: string | null }[];
  devices: { serial: string; secret: string; recipientId: string; departmentId: string }[];
}

const FIRST = ["Astrid", "Bjørn", "Ingrid", "Olav", "Kari", "Per", "Solveig", "Arne", "Liv", "Knut"];
const LAST = [
  "Hansen",
  "Johansen",
  "Olsen",
  "Larsen",
  "Andersen",
  "Pedersen",
  "Nilsen",
  "Kristiansen",
  "Jensen",
  "Berg",
];

export async function seedDemo(
  pool: pg.Pool,
  options: {
    adminPassword: string;
    devices?: number;
    slug?: string;
    passwordHashing?: PasswordHashingOptions;
  },
): Promise<DemoSeed> {
  const slug = options.slug ?? "demo";
  const domain = `${slug}.vakt.local`;
  const deviceCount = options.devices ?? 20;
  const passwordHash = await hashPassword(options.adminPassword, options.passwordHashing ?? OWASP_ARGON2ID);
  return withTransaction(pool, async (tx) => {
    await tx.query("SELECT pg_advisory_xact_lock(hashtext('vakt.seed-demo'))");
    let org = (await tx.query<{ id: string }>("SELECT id FROM organisations WHERE slug = $1", [slug]))
      .rows[0];
    if (!org) {
      org = (
        await tx.query<{ id: string }>(
          `INSERT INTO organisations (name, slug, require_admin_second_factor) VALUES ('Demo kommune', $1, true)
           RETURNING id`,
          [slug],
        )
      ).rows[0];
    }
    if (!org) throw new Error("demo organisation not created");
    const orgId = org.id;
    // Administrators need a second factor here, as an organisation should ask of them.
    await tx.query("UPDATE organisations SET require_admin_second_factor = true WHERE id = $1", [orgId]);
    const totpSecret = generateSecret();

    const { north, south, leaves } = await seedDepartments(tx, orgId);
    const staff = await seedStaff(tx, orgId, domain, passwordHash, totpSecret, { north, south });
    const devices: DemoSeed["devices"] = [];
    for (let i = 0; i < deviceCount; i++)
      devices.push(await seedDevice(tx, orgId, i, leaves[i % leaves.length] as string));
    await seedClosedAlarms(tx, orgId, domain);
    const adminEmail = `admin@${domain}`;
    return {
      organisationId: orgId,
      adminEmail,
      adminTotp: {
        secret: totpSecret,
        otpauthUri: generateURI({ issuer: "Vakt demo", label: adminEmail, secret: totpSecret }),
      },
      staff,
      devices,
    };
  });
}

/** The demo's department tree: two home-care services, three zones under them (found again on a rerun). */
async function seedDepartments(tx: pg.PoolClient, orgId: string) {
  const dept = async (name: string, parentId: string | null) => {
    const existing = await tx.query<{ id: string }>(
      "SELECT id FROM departments WHERE organisation_id = $1 AND name = $2 AND parent_id IS NOT DISTINCT FROM $3",
      [orgId, name, parentId],
    );
    if (existing.rows[0]) return existing.rows[0].id;
    const { rows } = await tx.query<{ id: string }>(
      `WITH fresh AS (SELECT gen_random_uuid() AS id)
       INSERT INTO departments (id, organisation_id, parent_id, name, ancestry)
       SELECT fresh.id, $1, $2::uuid, $3,
              coalesce((SELECT ancestry FROM departments WHERE id = $2::uuid), '{}') || fresh.id FROM fresh
       RETURNING id`,
      [orgId, parentId, name],
    );
    return rows[0]?.id as string;
  };
  const north = await dept("Hjemmetjenesten Nord", null);
  const zone1 = await dept("Sone 1", north);
  const zone2 = await dept("Sone 2", north);
  const south = await dept("Hjemmetjenesten Sør", null);
  const zone3 = await dept("Sone 3", south);
  return { north, south, leaves: [zone1, zone2, zone3] };
}

/** One person per role (administrators with the demo's TOTP secret), all with the given password. */
async function seedStaff(
  tx: pg.PoolClient,
  orgId: string,
  domain: string,
  passwordHash: string,
  totpSecret: string,
  { north, south }: { north: string; south: string },
): Promise<DemoSeed["staff"]> {
  const staffPlan: {
    key: string;
    first: string;
    last: string;
    role: RoleKey;
    department: string | null;
  }[] = [
    { key: "admin", first: "Anne", last: "Admin", role: "org_admin", department: null },
    { key: "nord.admin", first: "Nils", last: "Nordmann", role: "dept_admin", department: north },
    { key: "nord.operator", first: "Oda", last: "Operatør", role: "operator", department: north },
    { key: "sor.operator", first: "Sindre", last: "Sørli", role: "operator", department: south },
    { key: "sor.locator", first: "Lene", last: "Leter", role: "locator", department: south },
    { key: "auditor", first: "Rolf", last: "Revisor", role: "auditor", department: null },
  ];
  const staff: DemoSeed["staff"] = [];
  for (const s of staffPlan) {
    const email = `${s.key}@${domain}`;
    const { rows } = await tx.query<{ id: string }>(
      `INSERT INTO staff_users (organisation_id, email, first_name, last_name, password_hash)
       VALUES ($1, $2, $3, $4, $5)
       ON CONFLICT (email) DO UPDATE SET password_hash = EXCLUDED.password_hash, status = 'active'
       RETURNING id`,
      [orgId, email, s.first, s.last, passwordHash],
    );
    const userId = rows[0]?.id as string;
    await tx.query(
      `INSERT INTO role_grants (organisation_id, user_id, role, department_id) VALUES ($1, $2, $3, $4)
       ON CONFLICT DO NOTHING`,
      [orgId, userId, s.role, s.department],
    );
    if (s.role === "org_admin" || s.role === "dept_admin") {
      await tx.query(
        "UPDATE staff_users SET totp_secret = $2, totp_enabled_at = now(), totp_last_step = NULL WHERE id = $1",
        [userId, totpSecret],
      );
    }
    staff.push({ email, role: s.role, department: s.department });
  }
  return staff;
}

/** Demo device `i` with a fresh secret, and (unless it has one) a recipient with a call list. */
async function seedDevice(
  tx: pg.PoolClient,
  orgId: string,
  i: number,
  departmentId: string,
): Promise<DemoSeed["devices"][number]> {
  const serial = `DEMO-${String(i + 1).padStart(4, "0")}`;
  const secret = generateDeviceSecret();
  const existing = (
    await tx.query<{ id: string; recipient_id: string | null; department_id: string }>(
      "SELECT id, recipient_id, department_id FROM devices WHERE organisation_id = $1 AND serial = $2",
      [orgId, serial],
    )
  ).rows[0];
  if (existing?.recipient_id) {
    await tx.query("UPDATE devices SET mqtt_secret_sha256 = $2, mqtt_secret_mosquitto = $3 WHERE id = $1", [
      existing.id,
      deviceSecretSha256(secret),
      mosquittoPasswordHash(secret),
    ]);
    return { serial, secret, recipientId: existing.recipient_id, departmentId: existing.department_id };
  }
  const recipient = (
    await tx.query<{ id: string }>(
      `INSERT INTO recipients (organisation_id, department_id, first_name, last_name, birth_date, responder_notes,
         legal_basis, legal_basis_reference, legal_basis_date)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING id`,
      [
        orgId,
        departmentId,
        FIRST[i % FIRST.length],
        LAST[Math.floor(i / FIRST.length) % LAST.length],
        `19${30 + (i % 20)}-0${1 + (i % 9)}-1${i % 10}`,
        i % 3 === 0 ? "Nøkkelboks ved inngangsdøren. Hører dårlig." : "",
        i % 2 === 0 ? "consent" : "formal_decision",
        i % 2 === 0 ? null : `VEDTAK-2026-${100 + i}`,
        "2026-01-15",
      ],
    )
  ).rows[0]?.id as string;
  const contacts = demoContacts(i);
  for (const [n, [name, relation, phone, notes, availability]] of contacts.entries()) {
    await tx.query(
      `INSERT INTO recipient_contacts (organisation_id, recipient_id, position, name, relation, phone, notes, availability)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
      [orgId, recipient, n + 1, name, relation, phone, notes, availability],
    );
  }
  if (existing) {
    await tx.query(
      `UPDATE devices SET recipient_id = $2, department_id = $3, mqtt_secret_sha256 = $4, mqtt_secret_mosquitto = $5
        WHERE id = $1`,
      [existing.id, recipient, departmentId, deviceSecretSha256(secret), mosquittoPasswordHash(secret)],
    );
  } else {
    await tx.query(
      `INSERT INTO devices (organisation_id, department_id, serial, model, mqtt_secret_sha256, mqtt_secret_mosquitto,
         recipient_id, desired_config)
       VALUES ($1, $2, $3, 'vakt-sim', $4, $5, $6, $7)`,
      [
        orgId,
        departmentId,
        serial,
        deviceSecretSha256(secret),
        mosquittoPasswordHash(secret),
        recipient,
        JSON.stringify(defaultDeviceSettings),
      ],
    );
  }
  return { serial, secret, recipientId: recipient, departmentId };
}

/** A call list for the night shift: next of kin, a neighbour for some, their own phone, the doctor. */
function demoContacts(i: number): [string, string, string, string, string][] {
  return [
    [
      `${FIRST[(i + 3) % FIRST.length]} ${LAST[Math.floor(i / FIRST.length) % LAST.length]}`,
      "next_of_kin",
      `+47${40_000_100 + i * 3}`,
      i % 2 === 0 ? "Datter. Har nøkkel." : "Sønn.",
      "07-23",
    ],
    ...(i % 2 === 0
      ? [
          [
            `${FIRST[(i + 5) % FIRST.length]} Nabo`,
            "neighbour",
            `+47${40_000_101 + i * 3}`,
            "Bor i nr. 3.",
            "dagtid",
          ] as [string, string, string, string, string],
        ]
      : []),
    ["Egen mobil", "own_phone", `+47${40_000_102 + i * 3}`, "", ""],
    ["Fastlege, legekontoret", "doctor", `+47${22_000_000 + (i % 5)}`, "", "08-15.30 hverdager"],
  ];
}

/**
 * Two closed alarms for the history screen (once per organisation): an SOS an operator took and
 * resolved by phone, and a fall the wearer's neighbour had already seen to. Each with its timeline.
 */
async function seedClosedAlarms(tx: pg.PoolClient, orgId: string, domain: string): Promise<void> {
  const done = await tx.query(
    "SELECT 1 FROM alarms WHERE organisation_id = $1 AND details ? 'demo' LIMIT 1",
    [orgId],
  );
  if (done.rowCount) return;
  const operator = (
    await tx.query<{ id: string }>("SELECT id FROM staff_users WHERE email = $1", [`nord.operator@${domain}`])
  ).rows[0]?.id;
  const { rows: wearers } = await tx.query<{ id: string; department_id: string; recipient_id: string }>(
    `SELECT id, department_id, recipient_id FROM devices
      WHERE organisation_id = $1 AND recipient_id IS NOT NULL AND retired_at IS NULL ORDER BY serial LIMIT 2`,
    [orgId],
  );
  if (!operator || wearers.length === 0) return;
  const plan = [
    {
      type: "sos",
      severity: "critical",
      hoursAgo: 30,
      outcome: "resolved_by_phone",
      comment: "Ringte opp. Hadde falt i gangen, kom seg opp selv. Hjemmetjenesten ser innom i morgen.",
      closing: "Avsluttet etter samtale.",
    },
    {
      type: "fall",
      severity: "high",
      hoursAgo: 6,
      outcome: "no_help_needed",
      comment: "Naboen var allerede der og hjalp til. Ingen skade.",
      closing: "Ingen videre tiltak.",
    },
  ];
  for (const [i, a] of plan.entries()) {
    const w = wearers[i % wearers.length];
    if (!w) continue;
    const raised = `now() - interval '${a.hoursAgo} hours'`;
    const alarm = (
      await tx.query<{ id: string }>(
        `INSERT INTO alarms (organisation_id, department_id, device_id, recipient_id, type, severity, state, source,
           device_message_id, raised_at, received_at, lat, lon, accuracy_m, details, assigned_to,
           acknowledged_at, closed_at, outcome)
         VALUES ($1, $2, $3, $4, $5, $6, 'resolved', 'device', $7, ${raised}, ${raised}, $8, $9, 15,
           '{"demo": true}', $10, ${raised} + interval '47 seconds', ${raised} + interval '11 minutes', $11)
         RETURNING id`,
        [
          orgId,
          w.department_id,
          w.id,
          w.recipient_id,
          a.type,
          a.severity,
          `demo-${i + 1}`,
          59.9139 + i * 0.01,
          10.7522 + i * 0.01,
          operator,
          a.outcome,
        ],
      )
    ).rows[0]?.id;
    await tx.query(
      `INSERT INTO alarm_transitions (organisation_id, alarm_id, at, kind, from_state, to_state, actor_user_id, note, details)
       VALUES ($1, $2, ${raised}, 'raised', NULL, 'open', NULL, NULL, '{}'),
              ($1, $2, ${raised} + interval '47 seconds', 'acknowledged', 'open', 'acknowledged', $3, NULL, '{}'),
              ($1, $2, ${raised} + interval '6 minutes', 'commented', 'acknowledged', 'acknowledged', $3, $4, '{}'),
              ($1, $2, ${raised} + interval '11 minutes', 'resolved', 'acknowledged', 'resolved', $3, $6,
                jsonb_build_object('outcome', $5::text))`,
      [orgId, alarm, operator, a.comment, a.outcome, a.closing],
    );
  }
}
