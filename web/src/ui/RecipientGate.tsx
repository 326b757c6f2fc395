/**
 * Opens a recipient's page only once the recipient can be shown. An erased
 * recipient no longer exists and a restricted one is hidden from ordinary
 * views (both answer 404), so instead of a page of empty sections and an error
 * this says plainly what happened; an organisation administrator, who may read
 * the erasure records and restrictions, is told which and since when.
 */
import { erasureRecord, recipient, restrictedRecipient } from "@vakt/schemas";
import { useEffect, useState } from "react";
import { z } from "zod";
import { ApiProblem } from "../api/client";
import { api, data } from "../api/typed";
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
  const [gate, setGate] = useState<Gate>({ kind: "checking" });

  useEffect(() => {
    let live = true;
    const settle = (g: Gate) => live && setGate(g);
    data(api.GET("/api/v1/recipients/{id}", { params: { path: { id: props.id } } }), recipient)
      .then(() => settle({ kind: "open" }))
      .catch(async (e: unknown) => {
        // A malformed id is as absent as an erased one.
        if (e instanceof ApiProblem && [400, 403, 404].includes(e.status))
          settle(await whyMissing(session, props.id).catch(() => ({ kind: "unavailable" }) as const));
        else settle({ kind: "failed", message: e instanceof Error ? e.message : String(e) });
      });
    return () => {
      live = false;
    };
  }, [props.id, session]);

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
      <p>
        <Link to={homePath(session.me.permissions)}>{t("recipientGate.back")}</Link>
      </p>
    </main>
  );
}
