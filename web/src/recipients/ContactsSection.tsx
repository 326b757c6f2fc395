import { zodResolver } from "@hookform/resolvers/zod";
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { contactRelation, recipientContact } from "@vakt/schemas";
import { useId, useState } from "react";
import { type UseFormReturn, useForm } from "react-hook-form";
import { z } from "zod";
import { contactsKey } from "../alarms/CallList";
import { api, data } from "../api/typed";
import { useUi } from "../session/context";
import {
  type ContactBody,
  type ContactFormInput,
  contactFieldError,
  contactForm,
  contactToForm,
  emptyContactForm,
} from "./contact-form";

type Form = UseFormReturn<ContactFormInput, unknown, ContactBody>;

/** The recipient's call list as administrators keep it: add, change, remove, put in order. */
export function ContactsSection(props: { recipientId: string }) {
  const { t } = useUi();
  const id = useId();
  const recipient = { id: props.recipientId };
  const form: Form = useForm<ContactFormInput, unknown, ContactBody>({
    resolver: zodResolver(contactForm),
    defaultValues: emptyContactForm,
  });
  const [editing, setEditing] = useState<string | null>(null);
  const { contacts, busy, error, run, move } = useContactList(props.recipientId);
  const submit = async (body: ContactBody) => {
    const ok = await run(() => saveContact(props.recipientId, editing, body));
    if (ok) {
      form.reset(emptyContactForm);
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
              form.reset(contactToForm(c));
              form.setFocus("name");
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
        busy={busy}
        editing={editing !== null}
        onSubmit={(body) => void submit(body)}
        onCancel={() => {
          form.reset(emptyContactForm);
          setEditing(null);
        }}
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

/** Adds the contact, or changes the one being edited (the body as the shared schema made it). */
function saveContact(recipientId: string, editing: string | null, body: ContactBody) {
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
  // Removing someone from a call list is asked once more: at night the list is who gets called.
  const [confirming, setConfirming] = useState(false);
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
      {confirming ? (
        <span>
          {t("contacts.removeConfirm", { name: c.name })}{" "}
          <button type="button" className="danger" disabled={busy} onClick={props.onRemove}>
            {t("contacts.removeYes")}
          </button>{" "}
          <button type="button" disabled={busy} onClick={() => setConfirming(false)}>
            {t("contacts.removeNo")}
          </button>
        </span>
      ) : (
        <button type="button" disabled={busy} onClick={() => setConfirming(true)}>
          {t("contacts.remove")}
        </button>
      )}
    </li>
  );
}

/** A contact's fields, to add one or save the one being changed, each refusal under its field. */
function ContactForm(props: {
  form: Form;
  busy: boolean;
  editing: boolean;
  onSubmit(body: ContactBody): void;
  onCancel(): void;
}) {
  const { t } = useUi();
  const id = useId();
  const { form } = props;
  const errors = form.formState.errors;
  const field = (name: keyof ContactFormInput) => ({
    ...form.register(name),
    ...(errors[name] ? { "aria-invalid": true as const, "aria-describedby": `${id}-${name}-error` } : {}),
  });
  const problem = (name: keyof ContactFormInput) =>
    errors[name] ? (
      <p id={`${id}-${name}-error`} className="error small" role="alert">
        {t(contactFieldError(name))}
      </p>
    ) : null;
  return (
    <form className="form-grid" noValidate onSubmit={form.handleSubmit(props.onSubmit)}>
      <label>
        {t("contacts.name")}
        <input {...field("name")} />
      </label>
      {problem("name")}
      <label>
        {t("contacts.relation")}
        <select {...field("relation")}>
          {contactRelation.options.map((r) => (
            <option key={r} value={r}>
              {t(`contact.relation.${r}`)}
            </option>
          ))}
        </select>
      </label>
      {problem("relation")}
      <label>
        {t("contacts.phone")}
        <input type="tel" {...field("phone")} />
      </label>
      {problem("phone")}
      <label>
        {t("contacts.availability")}
        <input {...field("availability")} />
      </label>
      {problem("availability")}
      <label>
        {t("contacts.notes")}
        <input {...field("notes")} />
      </label>
      {problem("notes")}
      <div className="buttons">
        <button type="submit" className="primary" disabled={props.busy}>
          {props.editing ? t("contacts.save") : t("contacts.add")}
        </button>
        {props.editing && (
          <button type="button" onClick={props.onCancel}>
            {t("common.cancel")}
          </button>
        )}
      </div>
    </form>
  );
}
