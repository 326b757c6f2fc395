/** Pure helpers for the recipient's privacy actions (export, restriction, erasure). */
import { privacyReason } from "@vakt/schemas";
import { downloadHref } from "../api/typed";

export type ExportFormat = "json" | "zip";

/** How far back the export's positions reach (days); the API's default is 30, the table ceiling 400. */
export const exportPeriods = [30, 90, 400] as const;

/** Query of GET /privacy/recipients/{id}/export: positions from `days` before `now` to `now`. */
export function exportQuery(format: ExportFormat, days: number, now: Date) {
  return {
    format,
    from: new Date(now.getTime() - days * 86_400_000).toISOString(),
    to: now.toISOString(),
  };
}

/** The same-origin URL of the export (for links and tests). */
export function exportUrl(recipientId: string, format: ExportFormat, days: number, now: Date): string {
  return downloadHref("/api/v1/privacy/recipients/{id}/export", {
    path: { id: recipientId },
    query: exportQuery(format, days, now),
  });
}

/** "vakt-recipient-<id>-<yyyy-mm-dd>.json" or ".zip". */
export function exportFilename(recipientId: string, format: ExportFormat, now: Date): string {
  return `vakt-recipient-${recipientId}-${now.toISOString().slice(0, 10)}.${format}`;
}

/** A reason the API accepts (3 to 500 characters after trimming). */
export function reasonValid(reason: string): boolean {
  return privacyReason.safeParse({ reason }).success;
}

const normalise = (s: string) => s.normalize("NFC").trim().replace(/\s+/g, " ");

/**
 * The administrator typed the recipient's full name exactly (spaces around and
 * between words do not count, letter case does); a recipient without a name is
 * confirmed by typing its id.
 */
export function erasureConfirmed(typed: string, name: string, recipientId: string): boolean {
  const expected = normalise(name) || recipientId;
  return normalise(typed) === expected;
}

/** Hands a downloaded file to the browser as a download (object URL and an anchor). */
export function saveFile(blob: Blob, filename: string): void {
  const url = URL.createObjectURL(blob);
  const a = document.createElement("a");
  a.href = url;
  a.download = filename;
  a.style.display = "none";
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
}
