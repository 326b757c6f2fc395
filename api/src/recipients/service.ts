import type { Recipient } from "@vakt/schemas";
import { withTransaction } from "@vakt/storage";
import { type Caller, logActivity } from "../activity/writer";
import { pseudonym } from "../auth/secrets";
import type { ApiDeps } from "../deps";
import { ApiError } from "../errors";
import { type Actor, allowedDepartments } from "../policy";
import { recipientVisibleSql } from "../privacy/visibility";
import { changeSet, found, inAllowed } from "../service-helpers";

type ActorCaller = Caller & { actor: Actor };

export interface RecipientRow {
  id: string;
  organisation_id: string;
  department_id: string;
  first_name: string;
  last_name: string;
  birth_date: string | null;
  responder_notes: string;
  legal_basis: Recipient["legalBasis"];
  legal_basis_reference: string | null;
  legal_basis_date: string | null;
  status: "active" | "ended";
  service_ended_on: string | null;
}
// Dates as text, so no time zone shifts them.
export const RECIPIENT_COLUMNS = `id, organisation_id, department_id, first_name, last_name, birth_date::text, responder_notes,
  legal_basis, legal_basis_reference, legal_basis_date::text, status, service_ended_on::text`;

/** Pseudonymous tokens see stable HMAC ids instead of ids, and no names, birth dates or notes. */
export function isPseudonymous(actor: Actor): boolean {
  return actor.kind === "api_token" && actor.pseudonymous;
}

/**
 * Pseudonymous tokens never address anything by a real id: one in their
 * request is answered like an unknown id (404), so it links nothing.
 */
export function refuseRealId(actor: Actor, kind: string): void {
  if (isPseudonymous(actor)) throw new ApiError("not_found", `No such ${kind}.`);
}

export function recipientIdFor(deps: ApiDeps, actor: Actor, organisationId: string, id: string): string {
  return isPseudonymous(actor) ? pseudonym(deps.config.PSEUDONYM_KEY, organisationId, id) : id;
}

function toRecipient(deps: ApiDeps, actor: Actor, r: RecipientRow, details = true): Recipient {
  if (isPseudonymous(actor)) {
    return {
      id: pseudonym(deps.config.PSEUDONYM_KEY, r.organisation_id, r.id),
      departmentId: r.department_id,
      firstName: null,
      lastName: null,
      birthDate: null,
      responderNotes: null,
      legalBasis: r.legal_basis,
      legalBasisReference: null,
      legalBasisDate: r.legal_basis_date,
      status: r.status,
      serviceEndedOn: r.service_ended_on,
    };
  }
  if (!details) {
    // Locators: who and where to look, nothing more (api/README.md, "What a locator sees").
    return { ...recipientFields(r), birthDate: null, responderNotes: null, legalBasisReference: null };
  }
  return recipientFields(r);
}

/** The recipient as the API shows it to someone who may see the person. */
export function recipientFields(r: RecipientRow) {
  return {
    id: r.id,
    departmentId: r.department_id,
    firstName: r.first_name,
    lastName: r.last_name,
    birthDate: r.birth_date,
    responderNotes: r.responder_notes,
    legalBasis: r.legal_basis,
    legalBasisReference: r.legal_basis_reference,
    legalBasisDate: r.legal_basis_date,
    status: r.status,
    serviceEndedOn: r.service_ended_on,
  };
}

export async function listRecipients(deps: ApiDeps, caller: ActorCaller) {
  const allowed = await allowedDepartments(deps.pool, caller.actor, "recipient:read");
  return withTransaction(deps.pool, async (tx) => {
    const { rows } = await tx.query<RecipientRow>(
      `SELECT ${RECIPIENT_COLUMNS} FROM recipients WHERE organisation_id = $1 AND department_id = ANY($2::uuid[])
          AND ${recipientVisibleSql("recipients")}
        ORDER BY last_name, first_name, id`,
      [caller.organisationId, allowed],
    );
    // Integrations' reads of personal data are logged like people's changes.
    if (caller.actor.kind === "api_token") {
      await logActivity(tx, caller, { action: "recipient.listed", recipientIds: rows.map((r) => r.id) });
    }
    const details = await allowedDepartments(tx, caller.actor, "recipient:details");
    return rows.map((r) => toRecipient(deps, caller.actor, r, details.includes(r.department_id)));
  });
}

export async function getRecipient(deps: ApiDeps, caller: ActorCaller, id: string) {
  refuseRealId(caller.actor, "recipient");
  const allowed = await allowedDepartments(deps.pool, caller.actor, "recipient:read");
  return withTransaction(deps.pool, async (tx) => {
    const { rows } = await tx.query<RecipientRow>(
      `SELECT ${RECIPIENT_COLUMNS} FROM recipients WHERE organisation_id = $1 AND department_id = ANY($2::uuid[]) AND id = $3
          AND ${recipientVisibleSql("recipients")}`,
      [caller.organisationId, allowed, id],
    );
    const r = found(rows[0], "recipient");
    if (caller.actor.kind === "api_token") {
      await logActivity(tx, caller, {
        action: "recipient.viewed",
        subjectType: "recipient",
        subjectId: r.id,
        recipientIds: [r.id],
      });
    }
    const details = await allowedDepartments(tx, caller.actor, "recipient:details");
    return toRecipient(deps, caller.actor, r, details.includes(r.department_id));
  });
}

export interface RecipientInput {
  departmentId?: string | undefined;
  firstName?: string | undefined;
  lastName?: string | undefined;
  birthDate?: string | null | undefined;
  responderNotes?: string | undefined;
  legalBasis?: Recipient["legalBasis"] | undefined;
  legalBasisReference?: string | null | undefined;
  legalBasisDate?: string | null | undefined;
  status?: "active" | "ended" | undefined;
  serviceEndedOn?: string | null | undefined;
}

const PERSONAL = ["firstName", "lastName", "birthDate", "responderNotes", "legalBasisReference"];

export async function createRecipient(
  deps: ApiDeps,
  caller: ActorCaller,
  input: RecipientInput & {
    departmentId: string;
    firstName: string;
    lastName: string;
    legalBasis: Recipient["legalBasis"];
  },
) {
  const allowed = await allowedDepartments(deps.pool, caller.actor, "recipient:manage");
  inAllowed(allowed, input.departmentId);
  return withTransaction(deps.pool, async (tx) => {
    const { rows } = await tx.query<RecipientRow>(
      `INSERT INTO recipients (organisation_id, department_id, first_name, last_name, birth_date, responder_notes,
         legal_basis, legal_basis_reference, legal_basis_date, created_at, updated_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10) RETURNING ${RECIPIENT_COLUMNS}`,
      [
        caller.organisationId,
        input.departmentId,
        input.firstName,
        input.lastName,
        input.birthDate ?? null,
        input.responderNotes ?? "",
        input.legalBasis,
        input.legalBasisReference ?? null,
        input.legalBasisDate ?? null,
        caller.now,
      ],
    );
    const r = found(rows[0], "recipient");
    await logActivity(tx, caller, {
      action: "recipient.created",
      subjectType: "recipient",
      subjectId: r.id,
      recipientIds: [r.id],
      details: { departmentId: r.department_id, legalBasis: r.legal_basis },
    });
    return toRecipient(deps, caller.actor, r);
  });
}

export async function updateRecipient(deps: ApiDeps, caller: ActorCaller, id: string, input: RecipientInput) {
  const allowed = await allowedDepartments(deps.pool, caller.actor, "recipient:manage");
  if (input.departmentId !== undefined) inAllowed(allowed, input.departmentId);
  return withTransaction(deps.pool, async (tx) => {
    const beforeRow = found(
      (
        await tx.query<RecipientRow>(
          `SELECT ${RECIPIENT_COLUMNS} FROM recipients WHERE organisation_id = $1 AND department_id = ANY($2::uuid[]) AND id = $3
             AND ${recipientVisibleSql("recipients")}
           FOR UPDATE`,
          [caller.organisationId, allowed, id],
        )
      ).rows[0],
      "recipient",
    );
    const set = (v: unknown) => v !== undefined;
    const { rows } = await tx.query<RecipientRow>(
      `UPDATE recipients SET
         department_id = coalesce($3, department_id),
         first_name = coalesce($4, first_name),
         last_name = coalesce($5, last_name),
         birth_date = CASE WHEN $6 THEN $7::date ELSE birth_date END,
         responder_notes = coalesce($8, responder_notes),
         legal_basis = coalesce($9, legal_basis),
         legal_basis_reference = CASE WHEN $10 THEN $11 ELSE legal_basis_reference END,
         legal_basis_date = CASE WHEN $12 THEN $13::date ELSE legal_basis_date END,
         status = coalesce($14, status),
         service_ended_on = CASE WHEN $15 THEN $16::date ELSE service_ended_on END,
         updated_at = $17
       WHERE organisation_id = $1 AND id = $2 RETURNING ${RECIPIENT_COLUMNS}`,
      [
        caller.organisationId,
        id,
        input.departmentId ?? null,
        input.firstName ?? null,
        input.lastName ?? null,
        set(input.birthDate),
        input.birthDate ?? null,
        input.responderNotes ?? null,
        input.legalBasis ?? null,
        set(input.legalBasisReference),
        input.legalBasisReference ?? null,
        set(input.legalBasisDate),
        input.legalBasisDate ?? null,
        input.status ?? null,
        set(input.serviceEndedOn),
        input.serviceEndedOn ?? null,
        caller.now,
      ],
    );
    const afterRow = found(rows[0], "recipient");
    const before = toRecipient(deps, caller.actor, beforeRow);
    const after = toRecipient(deps, caller.actor, afterRow);
    await logActivity(tx, caller, {
      action: "recipient.updated",
      subjectType: "recipient",
      subjectId: id,
      recipientIds: [id],
      details: { changes: changeSet(before, after, PERSONAL) },
    });
    return after;
  });
}
