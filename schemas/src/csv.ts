/**
 * The one CSV encoder (RFC 4180, CRLF, header row), for the activity-log
 * export, the recipient export and the console's alarm history.
 */

/**
 * One cell: quoted when it holds a separator (the comma, or the semicolon that
 * spreadsheets set to Norwegian split on), a quote or a line break; with a
 * leading apostrophe when a spreadsheet would run it as a formula (a note or a
 * name typed by staff can start with "="). Objects are written as JSON.
 */
export function csvCell(v: unknown): string {
  const s =
    v === null || v === undefined
      ? ""
      : typeof v === "string"
        ? v
        : typeof v === "object"
          ? JSON.stringify(v)
          : String(v);
  const safe = /^[=+\-@\t\r]/.test(s) ? `'${s}` : s;
  return /[",;\r\n]/.test(safe) ? `"${safe.replaceAll('"', '""')}"` : safe;
}

/** A header and rows of cells as CSV text, each line ended by CRLF. */
export function csvText(header: readonly string[], rows: readonly (readonly unknown[])[]): string {
  const lines = [header.join(","), ...rows.map((r) => r.map(csvCell).join(","))];
  return `${lines.join("\r\n")}\r\n`;
}
