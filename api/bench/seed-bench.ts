import type pg from "pg";
import { hashPassword } from "../src/auth/secrets";
import { OWASP_ARGON2ID } from "../src/deps";

/**
 * One organisation, `n` recipients in 10 departments, each with a device and
 * an hour of 1-minute fixes; the first recipient has 24 hours of 10-second
 * fixes instead (the history benchmark's).
 */
export async function seedBench(pool: pg.Pool, n: number) {
  const password = "bench password 123";
  const email = `bench-${Date.now()}@example.org`;
  const org = (
    await pool.query<{ id: string }>(
      "INSERT INTO organisations (name, slug, require_admin_second_factor) VALUES ('Bench', $1, false) RETURNING id",
      [`bench-${Date.now()}`],
    )
  ).rows[0]?.id as string;
  await pool.query(
    `INSERT INTO departments (id, organisation_id, name, ancestry)
     SELECT id, $1, 'D' || i, ARRAY[id] FROM (SELECT gen_random_uuid() AS id, i FROM generate_series(1, 10) i) d`,
    [org],
  );
  await pool.query(
    `INSERT INTO recipients (organisation_id, department_id, first_name, last_name, legal_basis)
     SELECT $1, (SELECT id FROM departments WHERE organisation_id = $1 ORDER BY id OFFSET (i % 10) LIMIT 1),
            'R' || i, 'Bench', 'consent'
       FROM generate_series(1, $2::int) i`,
    [org, n],
  );
  await pool.query(
    `INSERT INTO devices (organisation_id, department_id, serial, recipient_id)
     SELECT organisation_id, department_id, 'B' || replace(id::text, '-', ''), id FROM recipients WHERE organisation_id = $1`,
    [org],
  );
  await pool.query(
    `INSERT INTO positions (time, device_id, organisation_id, recipient_id, message_id, lat, lon, accuracy_m)
     SELECT now() - make_interval(mins => m), d.id, d.organisation_id, d.recipient_id, 'm' || m,
            59.9 + random() * 0.1, 10.7 + random() * 0.1, 10
       FROM devices d, generate_series(0, 59) m WHERE d.organisation_id = $1`,
    [org],
  );
  const tracked = (
    await pool.query<{ recipient_id: string; id: string }>(
      "SELECT recipient_id, id FROM devices WHERE organisation_id = $1 ORDER BY recipient_id LIMIT 1",
      [org],
    )
  ).rows[0] as { recipient_id: string; id: string };
  await pool.query("DELETE FROM positions WHERE device_id = $1", [tracked.id]);
  await pool.query(
    `INSERT INTO positions (time, device_id, organisation_id, recipient_id, message_id, lat, lon, accuracy_m)
     SELECT date_trunc('second', now()) - make_interval(secs => s * 10), $1, $2, $3, 'h' || s,
            59.9 + random() * 0.01, 10.7 + random() * 0.01, 8
       FROM generate_series(0, 8639) s`,
    [tracked.id, org, tracked.recipient_id],
  );
  await pool.query("SELECT vakt_refresh_latest_positions()");
  await pool.query("ANALYZE");
  const user = (
    await pool.query<{ id: string }>(
      `INSERT INTO staff_users (organisation_id, email, first_name, last_name, password_hash)
       VALUES ($1, $2, 'Bench', 'Operator', $3) RETURNING id`,
      [org, email, await hashPassword(password, OWASP_ARGON2ID)],
    )
  ).rows[0]?.id as string;
  await pool.query("INSERT INTO role_grants (organisation_id, user_id, role) VALUES ($1, $2, 'operator')", [
    org,
    user,
  ]);
  return { email, password, organisationId: org, historyRecipientId: tracked.recipient_id };
}
