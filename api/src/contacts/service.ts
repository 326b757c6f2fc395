/**
 * A recipient's call list (issue 16 item 2): the people the night shift phones,
 * in order. Contacts are personal data of third parties: read only by those who
 * take the recipient's alarms or manage the recipient (policy.contactReadDepartments),
 * every read logged (`contacts.viewed`), every change logged without values.
 */
import type {
  CallResult,
  RecipientContact,
  RecipientContactCreate,
  RecipientContactUpdate,
} from "@vakt/schemas";
import { type Queryable, withTransaction } from "@vakt/storage";
import { type Caller, logActivity } from "../activity/writer";
import type { ApiDeps } from "../deps";
import { ApiError } from "../errors";
import { type Actor, allowedDepartments, contactManageDepartments, contactReadDepartments } from "../policy";
import { recipientVisibleSql } from "../privacy/visibility";
import { refuseRealId } from "../recipients/service";
import { changeSet, found } from "../service-helpers";

type ActorCaller = Caller & { actor: Actor };

interface ContactRow {
  id: string;
  recipient_id: string;
  position: number;
  name: string;
  relation: RecipientContact["relation"];
  phone: string;
  notes: string;
  availability: string;
}
const COLUMNS = "id, recipient_id, position, name, relation, phone, notes, availability";

const toContact = (r: ContactRow): RecipientContact => ({
  id: r.id,
  recipientId: r.recipient_id,
  position: r.position,
  name: r.name,
  relation: r.relation,
  phone: r.phone,
  notes: r.notes,
  availability: r.availability,
});

/** The recipient, if it is one the caller may see in these departments (404 otherwise, foreign or not). */
async function scopedRecipient(
  db: Queryable,
  caller: ActorCaller,
  recipientId: string,
  allowed: string[],
  lock = false,
): Promise<{ id: string; department_id: string }> {
  refuseRealId(caller.actor, "recipient");
  const { rows } = await db.query<{ id: string; department_id: string }>(
    `SELECT id, department_id FROM recipients
      WHERE organisation_id = $1 AND id = $2 AND department_id = ANY($3::uuid[])
        AND ${recipientVisibleSql("recipients")} ${lock ? "FOR UPDATE" : ""}`,
    [caller.organisationId, recipientId, allowed],
  );
  return found(rows[0], "recipient");
}

async function listRows(db: Queryable, organisationId: string, recipientId: string) {
  const { rows } = await db.query<ContactRow>(
    `SELECT ${COLUMNS} FROM recipient_contacts WHERE organisation_id = $1 AND recipient_id = $2
      ORDER BY position, id`,
    [organisationId, recipientId],
  );
  return rows.map(toContact);
}

export async function listContacts(deps: ApiDeps, caller: ActorCaller, recipientId: string) {
  const allowed = await contactReadDepartments(deps.pool, caller.actor);
  return withTransaction(deps.pool, async (tx) => {
    await scopedRecipient(tx, caller, recipientId, allowed);
    const contacts = await listRows(tx, caller.organisationId, recipientId);
    // Third parties' names and numbers were shown: logged like any other look at personal data.
    await logActivity(tx, caller, {
      action: "contacts.viewed",
      subjectType: "recipient",
      subjectId: recipientId,
      recipientIds: [recipientId],
      details: { count: contacts.length },
    });
    return contacts;
  });
}

export async function createContact(
  deps: ApiDeps,
  caller: ActorCaller,
  recipientId: string,
  input: RecipientContactCreate,
) {
  const allowed = await contactManageDepartments(deps.pool, caller.actor);
  return withTransaction(deps.pool, async (tx) => {
    await scopedRecipient(tx, caller, recipientId, allowed, true);
    const { rows } = await tx.query<ContactRow>(
      `INSERT INTO recipient_contacts (organisation_id, recipient_id, position, name, relation, phone, notes,
                                       availability, created_at, updated_at)
       SELECT $1, $2, coalesce(max(position), 0) + 1, $3, $4, $5, $6, $7, $8, $8
         FROM recipient_contacts WHERE organisation_id = $1 AND recipient_id = $2
       RETURNING ${COLUMNS}`,
      [
        caller.organisationId,
        recipientId,
        input.name,
        input.relation,
        input.phone,
        input.notes ?? "",
        input.availability ?? "",
        caller.now,
      ],
    );
    const c = toContact(found(rows[0], "contact"));
    await logActivity(tx, caller, {
      action: "contact.created",
      subjectType: "recipient_contact",
      subjectId: c.id,
      recipientIds: [recipientId],
      details: { relation: c.relation, position: c.position },
    });
    return c;
  });
}

async function lockedContact(tx: Queryable, caller: ActorCaller, recipientId: string, contactId: string) {
  const { rows } = await tx.query<ContactRow>(
    `SELECT ${COLUMNS} FROM recipient_contacts WHERE organisation_id = $1 AND recipient_id = $2 AND id = $3
      FOR UPDATE`,
    [caller.organisationId, recipientId, contactId],
  );
  return found(rows[0], "contact");
}

const PERSONAL = ["name", "phone", "notes", "availability"];

export async function updateContact(
  deps: ApiDeps,
  caller: ActorCaller,
  recipientId: string,
  contactId: string,
  input: RecipientContactUpdate,
) {
  const allowed = await contactManageDepartments(deps.pool, caller.actor);
  return withTransaction(deps.pool, async (tx) => {
    await scopedRecipient(tx, caller, recipientId, allowed, true);
    const before = toContact(await lockedContact(tx, caller, recipientId, contactId));
    const { rows } = await tx.query<ContactRow>(
      `UPDATE recipient_contacts SET name = coalesce($4, name), relation = coalesce($5, relation),
              phone = coalesce($6, phone), notes = coalesce($7, notes),
              availability = coalesce($8, availability), updated_at = $9
        WHERE organisation_id = $1 AND recipient_id = $2 AND id = $3 RETURNING ${COLUMNS}`,
      [
        caller.organisationId,
        recipientId,
        contactId,
        input.name ?? null,
        input.relation ?? null,
        input.phone ?? null,
        input.notes ?? null,
        input.availability ?? null,
        caller.now,
      ],
    );
    const after = toContact(found(rows[0], "contact"));
    // Rectification: logged as changed, never with the values (the log outlives the data).
    await logActivity(tx, caller, {
      action: "contact.updated",
      subjectType: "recipient_contact",
      subjectId: contactId,
      recipientIds: [recipientId],
      details: { changes: changeSet(before, after, PERSONAL) },
    });
    return after;
  });
}

export async function deleteContact(
  deps: ApiDeps,
  caller: ActorCaller,
  recipientId: string,
  contactId: string,
) {
  const allowed = await contactManageDepartments(deps.pool, caller.actor);
  await withTransaction(deps.pool, async (tx) => {
    await scopedRecipient(tx, caller, recipientId, allowed, true);
    const gone = await lockedContact(tx, caller, recipientId, contactId);
    await tx.query("DELETE FROM recipient_contacts WHERE organisation_id = $1 AND id = $2", [
      caller.organisationId,
      contactId,
    ]);
    // Close the gap so positions stay 1..n.
    await tx.query(
      `UPDATE recipient_contacts SET position = position - 1
        WHERE organisation_id = $1 AND recipient_id = $2 AND position > $3`,
      [caller.organisationId, recipientId, gone.position],
    );
    await logActivity(tx, caller, {
      action: "contact.deleted",
      subjectType: "recipient_contact",
      subjectId: contactId,
      recipientIds: [recipientId],
    });
  });
}

export async function reorderContacts(
  deps: ApiDeps,
  caller: ActorCaller,
  recipientId: string,
  ids: string[],
) {
  const allowed = await contactManageDepartments(deps.pool, caller.actor);
  return withTransaction(deps.pool, async (tx) => {
    await scopedRecipient(tx, caller, recipientId, allowed, true);
    const current = await listRows(tx, caller.organisationId, recipientId);
    const have = new Set(current.map((c) => c.id));
    if (new Set(ids).size !== ids.length || ids.length !== have.size || !ids.every((id) => have.has(id)))
      throw new ApiError("validation_failed", "ids must name every contact of the recipient exactly once.", {
        errors: [{ path: "ids", message: "every contact once" }],
      });
    // The unique (recipient, position) constraint is deferred, so the swap checks at commit.
    await tx.query(
      `UPDATE recipient_contacts c SET position = o.ord, updated_at = $3
         FROM unnest($4::uuid[]) WITH ORDINALITY AS o(id, ord)
        WHERE c.organisation_id = $1 AND c.recipient_id = $2 AND c.id = o.id`,
      [caller.organisationId, recipientId, caller.now, ids],
    );
    await logActivity(tx, caller, {
      action: "contacts.reordered",
      subjectType: "recipient",
      subjectId: recipientId,
      recipientIds: [recipientId],
      details: { order: ids },
    });
    return listRows(tx, caller.organisationId, recipientId);
  });
}

/**
 * A call made from the alarm panel: a 'called' transition in the alarm's
 * history (whom, how it went, the note) and an activity row. Needs
 * alarm:acknowledge on the alarm's department and a contact of the alarm's recipient.
 */
export async function logCall(
  deps: ApiDeps,
  caller: ActorCaller,
  alarmId: string,
  input: { contactId: string; result: CallResult; note?: string | undefined },
) {
  if (caller.actor.kind !== "user")
    throw new ApiError("forbidden", "Only people make calls, not API tokens.");
  const userId = caller.actor.userId;
  const take = await allowedDepartments(deps.pool, caller.actor, "alarm:acknowledge");
  const read = await contactReadDepartments(deps.pool, caller.actor);
  const result = await withTransaction(deps.pool, async (tx) => {
    const { rows } = await tx.query<{ recipient_id: string | null; department_id: string; state: string }>(
      `SELECT recipient_id, department_id, state FROM alarms
        WHERE organisation_id = $1 AND id = $2 AND department_id = ANY($3::uuid[]) FOR UPDATE`,
      [caller.organisationId, alarmId, take],
    );
    const alarm = found(rows[0], "alarm");
    const contact = (
      await tx.query<ContactRow>(
        `SELECT ${COLUMNS} FROM recipient_contacts WHERE organisation_id = $1 AND id = $2 AND recipient_id = $3`,
        [caller.organisationId, input.contactId, alarm.recipient_id],
      )
    ).rows[0];
    if (!contact || !read.includes(alarm.department_id))
      throw new ApiError("not_found", "No such contact on this alarm's call list.");
    const inserted = await tx.query<{ id: string; at: Date }>(
      `INSERT INTO alarm_transitions (organisation_id, alarm_id, at, kind, from_state, to_state, actor_user_id,
                                      note, details)
       VALUES ($1, $2, $3, 'called', $4, $4, $5, $6, $7) RETURNING id, at`,
      [
        caller.organisationId,
        alarmId,
        caller.now,
        alarm.state,
        userId,
        input.note ?? null,
        // Whom by id only: the name is read from the call list, so erasing the list erases the name.
        JSON.stringify({ contactId: contact.id, result: input.result }),
      ],
    );
    await logActivity(tx, caller, {
      action: "alarm.called",
      subjectType: "alarm",
      subjectId: alarmId,
      recipientIds: alarm.recipient_id ? [alarm.recipient_id] : [],
      details: { contactId: contact.id, result: input.result },
    });
    const t = found(inserted.rows[0], "call");
    return { id: Number(t.id), at: t.at.toISOString(), contactId: contact.id, result: input.result };
  });
  deps.bus?.emit("alarm", { alarmId, change: "called" });
  return result;
}
