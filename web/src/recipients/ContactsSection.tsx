import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { type ContactRelation, contactRelation, recipientContact } from "@vakt/schemas";
import { useId, useState } from "react";
import { z } from "zod";
import { contactsKey } from "../alarms/CallList";
import { api, data } from "../api/typed";
import { useUi } from "../session/context";

const empty = {
  name: "",
  relation: "next_of_kin" as ContactRelation,
  phone: "",
  notes: "",
  availability: "",
};

/** The recipient's call list as administrators keep it: add, change, remove, put in order. */
export function ContactsSection(props: { recipientId: string }) {
  const { t } = useUi();
  const id = useId();
  const recipient = { id: props.recipientId };
  const [form, setForm] = useState(empty);
  const [editing, setEditing] = useState<string | null>(null);
  const { contacts, busy, error, run, move } = useContactList(props.recipientId);
  const submit = async () => {
    const ok = await run(() => saveContact(props.recipientId, editing, form));
    if (ok) {
      setForm(empty);
      setEditing(null);
    }
  };

  return (
    <section aria-labelledby={`${id}-title`} className="card" data-testid="contacts-admin">
      <h2 id={`${id}-title`}>{t("contacts.title")}</h2>
      <p className="muted small">{t("contacts.intro")}</p>
      <ol>
        {contacts.map((c, i) => (
          <ContactItem
            key={c.id}
            contact={c}
            first={i === 0}
            last={i === contacts.length - 1}
            busy={busy}
            onMove={(by) => move(i, i + by)}
            onEdit={() => {
              setEditing(c.id);
              setForm({
                name: c.name,
                relation: c.relation,
                phone: c.phone,
                notes: c.notes,
                availability: c.availability,
              });
            }}
            onRemove={() =>
              void run(() =>
                data(
                  api.DELETE("/api/v1/recipients/{id}/contacts/{contactId}", {
                    params: { path: { ...recipient, contactId: c.id } },
                  }),
                  z.unknown(),
                ),
              )
            }
          />
        ))}
      </ol>
      <ContactForm
        form={form}
        setForm={setForm}
        busy={busy}
        editing={editing !== null}
        onSubmit={() => void submit()}
      />
      {error && (
        <p className="error" role="alert">
          {error}
        </p>
      )}
    </section>
  );
}

/** The call list, and its changes (each followed by a fresh read); `run` says whether one went through. */
function useContactList(recipientId: string) {
  const { t } = useUi();
  const client = useQueryClient();
  const recipient = { id: recipientId };
  // The alarm panel's call list reads the same key, so a change shows there too.
  const list = useQuery({
    queryKey: contactsKey(recipientId),
    queryFn: () =>
      data(
        api.GET("/api/v1/recipients/{id}/contacts", { params: { path: { id: recipientId } } }),
        z.array(recipientContact),
      ),
  });
  const contacts = list.data ?? [];
  const change = useMutation({
    mutationFn: (f: () => Promise<unknown>) => f(),
    onSettled: () => client.invalidateQueries({ queryKey: contactsKey(recipientId) }),
  });
  const busy = change.isPending;
  const failure = change.error ?? list.error;
  const error = failure ? t("common.error", { message: failure.message }) : null;
  const run = (f: () => Promise<unknown>) =>
    change.mutateAsync(f).then(
      () => true,
      () => false,
    );
  const move = (from: number, to: number) => {
    const ids = contacts.map((c) => c.id);
    const [moved] = ids.splice(from, 1);
    if (!moved) return;
    ids.splice(to, 0, moved);
    void run(() =>
      data(
        api.PUT("/api/v1/recipients/{id}/contacts/order", { params: { path: recipient }, body: { ids } }),
        z.unknown(),
      ),
    );
  };
  return { contacts, busy, error, run, move };
}

/** Adds the contact, or changes the one being edited. */
function saveContact(recipientId: string, editing: string | null, form: typeof empty) {
  const body = {
    name: form.name,
    relation: form.relation,
    phone: form.phone,
    notes: form.notes,
    availability: form.availability,
  };
  return editing
    ? data(
        api.PATCH("/api/v1/recipients/{id}/contacts/{contactId}", {
          params: { path: { id: recipientId, contactId: editing } },
          body,
        }),
        recipientContact,
      )
    : data(
        api.POST("/api/v1/recipients/{id}/contacts", { params: { path: { id: recipientId } }, body }),
        recipientContact,
      );
}

type Contact = z.infer<typeof recipientContact>;

/** One contact on the list, with buttons to move it up or down, change it, or remove it. */
function ContactItem(props: {
  contact: Contact;
  first: boolean;
  last: boolean;
  busy: boolean;
  onMove(by: -1 | 1): void;
  onEdit(): void;
  onRemove(): void;
}) {
  const { t } = useUi();
  const { contact: c, busy } = props;
  return (
    <li>
      {c.name} · {t(`contact.relation.${c.relation}`)} · <a href={`tel:${c.phone}`}>{c.phone}</a>
      {c.availability && ` · ${t("call.when", { when: c.availability })}`}
      {c.notes && ` · ${c.notes}`}{" "}
      <button
        type="button"
        disabled={busy || props.first}
        aria-label={t("contacts.up", { name: c.name })}
        onClick={() => props.onMove(-1)}
      >
        ↑
      </button>
      <button
        type="button"
        disabled={busy || props.last}
        aria-label={t("contacts.down", { name: c.name })}
        onClick={() => props.onMove(1)}
      >
        ↓
      </button>
      <button type="button" disabled={busy} onClick={props.onEdit}>
        {t("contacts.edit")}
      </button>
      <button type="button" disabled={busy} onClick={props.onRemove}>
        {t("contacts.remove")}
      </button>
    </li>
  );
}

/** A contact's fields, to add one or save the one being changed. */
function ContactForm(props: {
  form: typeof empty;
  setForm(form: typeof empty): void;
  busy: boolean;
  editing: boolean;
  onSubmit(): void;
}) {
  const { t } = useUi();
  const { form } = props;
  return (
    <form
      className="form-grid"
      onSubmit={(e) => {
        e.preventDefault();
        props.onSubmit();
      }}
    >
      <label>
        {t("contacts.name")}
        <input
          required
          maxLength={200}
          value={form.name}
          onChange={(e) => props.setForm({ ...form, name: e.target.value })}
        />
      </label>
      <label>
        {t("contacts.relation")}
        <select
          value={form.relation}
          onChange={(e) => props.setForm({ ...form, relation: e.target.value as ContactRelation })}
        >
          {contactRelation.options.map((r) => (
            <option key={r} value={r}>
              {t(`contact.relation.${r}`)}
            </option>
          ))}
        </select>
      </label>
      <label>
        {t("contacts.phone")}
        <input
          required
          type="tel"
          maxLength={32}
          value={form.phone}
          onChange={(e) => props.setForm({ ...form, phone: e.target.value })}
        />
      </label>
      <label>
        {t("contacts.availability")}
        <input
          maxLength={200}
          value={form.availability}
          onChange={(e) => props.setForm({ ...form, availability: e.target.value })}
        />
      </label>
      <label>
        {t("contacts.notes")}
        <input
          maxLength={2000}
          value={form.notes}
          onChange={(e) => props.setForm({ ...form, notes: e.target.value })}
        />
      </label>
      <button type="submit" className="primary" disabled={props.busy}>
        {props.editing ? t("contacts.save") : t("contacts.add")}
      </button>
    </form>
  );
}
