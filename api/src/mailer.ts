/** E-mail over SMTP (SMTP_URL) with nodemailer: invitations, password resets and alarm alerts. */
import nodemailer from "nodemailer";
import type { Mailer } from "./deps";

export function smtpMailer(url: string, from: string): Mailer & { close(): void } {
  const u = new URL(url);
  const transport = nodemailer.createTransport({
    host: u.hostname,
    port: Number(u.port || (u.protocol === "smtps:" ? 465 : 587)),
    secure: u.protocol === "smtps:",
    ...(u.username
      ? { auth: { user: decodeURIComponent(u.username), pass: decodeURIComponent(u.password) } }
      : {}),
    ...(u.searchParams.get("ignoreTLS") === "true" ? { ignoreTLS: true } : {}),
  });
  return {
    async send(mail) {
      await transport.sendMail({ from, to: mail.to, subject: mail.subject, text: mail.text });
    },
    close: () => transport.close(),
  };
}
