/**
 * Opens a recipient's page only once the recipient can be shown. An erased
 * recipient no longer exists and a restricted one is hidden from ordinary
 * views (both answer 404), so instead of a page of empty sections and an error
 * this says plainly what happened; an organisation administrator, who may read
 * the erasure records and restrictions, is told which and since when.
 */
import { zodResolver } from "@hookform/resolvers/zod";
import { useMutation, useQuery } from "@tanstack/react-query";
import { erasureRecord, reasonRequiredQuery, recipient, restrictedRecipient } from "@vakt/schemas";
import { useId } from "react";
import { useForm } from "react-hook-form";
import { z } from "zod";
import { ApiProblem } from "../api/client";
import { api, data } from "../api/typed";
import { RecipientFacts, recipientKey } from "../recipients/RecipientDetails";
import { can, type Session, useSession, useUi } from "../session/context";
import { homePath } from "./home";
import { Link } from "./router";

type Gate =
  | { kind: "checking" }
  | { kind: "open" }
  | { kind: "erased"; at: string }
  | { kind: "restricted"; at: string }
  | { kind: "unavailable" }
  | { kind: "failed"; message: string };

async function whyMissing(session: Session, id: string): Promise<Gate> {
  if (!can(session, "organisation:manage")) return { kind: "unavailable" };
  const [erasures, restrictions] = await Promise.all([
    data(api.GET("/api/v1/privacy/erasures"), z.array(erasureRecord)),
    data(api.GET("/api/v1/privacy/restrictions"), z.array(restrictedRecipient)),
  ]);
  const erased = erasures.find((e) => e.subjectType === "recipient" && e.subjectRef === id);
  if (erased) return { kind: "erased", at: erased.erasedAt };
  const restricted = restrictions.find((r) => r.id === id);
  if (restricted) return { kind: "restricted", at: restricted.restrictedAt };
  return { kind: "unavailable" };
}

export function RecipientGate(props: { id: string; children: React.ReactNode }) {
  const { t, dateTime } = useUi();
  const session = useSession();
  // The page reads the recipient under the same key: this answer is its first. Only a fresh answer
  // opens it: one cached before a restriction or an erasure must not.
  const shown = useQuery({
    queryKey: recipientKey(props.id),
    refetchOnMount: "always",
    queryFn: () =>
      data(api.GET("/api/v1/recipients/{id}", { params: { path: { id: props.id } } }), recipient),
  });
  // A malformed id is as absent as an erased one.
  const absent = shown.error instanceof ApiProblem && [400, 403, 404].includes(shown.error.status);
  const why = useQuery({
    queryKey: ["recipients", props.id, "why-missing"],
    enabled: absent,
    queryFn: () => whyMissing(session, props.id).catch((): Gate => ({ kind: "unavailable" })),
  });
  const gate: Gate =
    shown.status === "success" && shown.isFetchedAfterMount
      ? { kind: "open" }
      : absent
        ? (why.data ?? { kind: "checking" })
        : shown.error
          ? { kind: "failed", message: shown.error.message }
          : { kind: "checking" };

  if (gate.kind === "open") return props.children;
  if (gate.kind === "checking") return <p className="centered">{t("common.loading")}</p>;
  const text =
    gate.kind === "erased"
      ? t("recipientGate.erased", { date: dateTime(gate.at) })
      : gate.kind === "restricted"
        ? t("recipientGate.restricted", { date: dateTime(gate.at) })
        : gate.kind === "failed"
          ? t("common.error", { message: gate.message })
          : t("recipientGate.unavailable");
  return (
    <main className="page" data-testid="recipient-unavailable" data-kind={gate.kind}>
      <h1>{t("recipientGate.title")}</h1>
      <p>{text}</p>
      {gate.kind === "restricted" && <ReadWithReason id={props.id} />}
      <p>
        <Link to={homePath(session.me.permissions)}>{t("recipientGate.back")}</Link>
      </p>
    </main>
  );
}

const reasonForm = z.object({ reason: reasonRequiredQuery.shape.reason });

/**
 * An organisation administrator reads a restricted recipient on purpose: the reason is asked for
 * in words and logged with the reading (GET /privacy/recipients/{id}).
 */
function ReadWithReason(props: { id: string }) {
  const { t, dateTime } = useUi();
  const id = useId();
  const form = useForm<{ reason: string }>({
    resolver: zodResolver(reasonForm),
    defaultValues: { reason: "" },
  });
  const read = useMutation({
    mutationFn: (reason: string) =>
      data(
        api.GET("/api/v1/privacy/recipients/{id}", {
          params: { path: { id: props.id }, query: { reason } },
        }),
        recipient.extend({ restrictedAt: z.iso.datetime().nullable() }),
      ),
  });
  const invalid = form.formState.errors.reason !== undefined;
  const r = read.data;
  return (
    <>
      <form
        className="card"
        aria-labelledby={`${id}-title`}
        data-testid="restricted-read"
        noValidate
        onSubmit={form.handleSubmit((v) => read.mutate(v.reason))}
      >
        <h2 id={`${id}-title`}>{t("recipientGate.readTitle")}</h2>
        <p className="muted small">{t("recipientGate.readHelp")}</p>
        <label htmlFor={`${id}-reason`}>{t("privacy.reason")}</label>
        <input
          id={`${id}-reason`}
          {...form.register("reason")}
          {...(invalid ? { "aria-invalid": true, "aria-describedby": `${id}-reason-error` } : {})}
        />
        {invalid && (
          <p id={`${id}-reason-error`} className="error small" role="alert">
            {t("recipientGate.reasonShort")}
          </p>
        )}
        <button type="submit" className="primary" disabled={read.isPending}>
          {t("recipientGate.read")}
        </button>
        {read.error && (
          <p className="error" role="alert">
            {read.error.message}
          </p>
        )}
      </form>
      {r && (
        <section aria-labelledby={`${id}-result`} data-testid="restricted-read-result">
          <h2 id={`${id}-result`}>
            {t("recipientGate.readResult", {
              name: `${r.firstName ?? ""} ${r.lastName ?? ""}`.trim() || r.id,
            })}
          </h2>
          {r.restrictedAt && (
            <p>
              {t("recipientGate.restrictedSince")}: {dateTime(r.restrictedAt)}
            </p>
          )}
          <RecipientFacts recipient={r} />
        </section>
      )}
    </>
  );
}
