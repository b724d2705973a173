import type { AddressInfo } from "node:net";
import { SMTPServer } from "smtp-server";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { waitFor } from "../support/wait.ts";
import { alert, type NotifyHarness, startNotifications } from "./support/harness.ts";

interface Mail {
  from: string;
  to: string[];
  raw: string;
}

/** The body of a quoted-printable MIME part, as the reader's mail client shows it. */
const decodeQp = (s: string) =>
  s
    .replace(/=\r?\n/g, "")
    .replace(/=([0-9A-F]{2})/g, (_, hex: string) => String.fromCharCode(Number.parseInt(hex, 16)));

/** The decoded text of the part with this content type. */
function part(raw: string, contentType: string): string {
  const m = new RegExp(`Content-Type: ${contentType}[^]*?\\r\\n\\r\\n([^]*?)\\r\\n--`, "i").exec(raw);
  if (!m) throw new Error(`no ${contentType} part in:\n${raw}`);
  const headers = raw.slice(0, m.index + m[0].indexOf("\r\n\r\n") + 4).slice(m.index);
  return /quoted-printable/i.test(headers) ? decodeQp(m[1] as string) : (m[1] as string);
}

describe("e-mail channels through SMTP", () => {
  let h: NotifyHarness;
  let smtp: SMTPServer;
  const mails: Mail[] = [];
  let refuseNext = 1;

  beforeAll(async () => {
    smtp = new SMTPServer({
      authOptional: true,
      disabledCommands: ["STARTTLS"],
      logger: false,
      onData(stream, session, callback) {
        const chunks: Buffer[] = [];
        stream.on("data", (c: Buffer) => chunks.push(c));
        stream.on("end", () => {
          // the first message is refused for a while (451), as a server that is full or greylisting
          if (refuseNext-- > 0) {
            const err = Object.assign(new Error("try again later"), { responseCode: 451 });
            return callback(err);
          }
          mails.push({
            from: session.envelope.mailFrom ? session.envelope.mailFrom.address : "",
            to: session.envelope.rcptTo.map((r) => r.address),
            raw: Buffer.concat(chunks).toString("utf8"),
          });
          callback();
        });
      },
    });
    await new Promise<void>((resolve) => smtp.listen(0, "127.0.0.1", resolve));
    const { port } = smtp.server.address() as AddressInfo;
    h = await startNotifications({
      SMTP_URL: `smtp://127.0.0.1:${port}`,
      SMTP_FROM: "Fleet <fleet@example.com>",
      FLEET_TZ: "Asia/Dubai",
    });
    h.startWorker();
  });
  afterAll(async () => {
    await h?.close();
    await new Promise<void>((resolve) => smtp?.close(() => resolve()));
  });

  it("sends an alert as a plain-text and an HTML e-mail, retrying a server that refused it", async () => {
    const channel = await h.emailChannel(["ops@example.com", "night@example.com"]);
    const start = alert("truck-<7>");
    await h.notify([{ alert: start, channelIds: [channel] }]);
    await h.notify([
      { alert: { ...start, phase: "end", endedAt: "2026-03-01T10:05:00.000Z" }, channelIds: [channel] },
    ]);
    await waitFor(
      async () => mails.length,
      (n) => n === 2,
      { what: "two e-mails" },
    );

    const [first, second] = mails as [Mail, Mail];
    expect(first.from).toBe("fleet@example.com");
    expect(first.to).toEqual(["ops@example.com", "night@example.com"]);
    expect(first.raw).toMatch(/^Subject: \[Logitrack\] Speeding <80>: truck-<7> started\r$/m);
    expect(second.raw).toMatch(/^Subject: \[Logitrack\] Speeding <80>: truck-<7> ended\r$/m);
    expect(first.raw).toMatch(/Content-Type: multipart\/alternative/);

    const text = part(first.raw, "text/plain");
    expect(text).toContain("Alert: speeding started for vehicle truck-<7>.");
    expect(text).toContain("Rule: Speeding <80> (speeding)");
    // read by people: a named peak, times in the fleet's zone and named
    expect(text).toContain("Peak speed: 97 km/h");
    expect(text).toContain("Started: 2026-03-01 14:00:00 Asia/Dubai");
    expect(text).toContain("Position: 25.2, 55.3");
    const html = part(first.raw, "text/html");
    // user data is escaped in the HTML
    expect(html).toContain("<td>Speeding &lt;80&gt; (speeding)</td>");
    expect(html).toContain("<td>truck-&lt;7&gt;</td>");
    expect(html).not.toContain("<7>");
    expect(part(second.raw, "text/plain")).toContain("Ended: 2026-03-01 14:05:00 Asia/Dubai");

    const log = await waitFor(
      () => h.deliveries(channel),
      (rows) => rows.length >= 3,
    );
    expect(log.map((d) => [d.phase, d.attempt, d.status])).toEqual([
      ["start", 1, "failed"],
      ["start", 2, "ok"],
      ["end", 1, "ok"],
    ]);
    expect(log[0]?.error).toMatch(/451/);
  });

  it("names the vehicle by its name and id, and rounds the peak", async () => {
    await h.pool.query("INSERT INTO vehicles (id, name, credential_hash) VALUES ('mail-van', 'Van 7', 'x')");
    const channel = await h.emailChannel(["ops@example.com"]);
    const before = mails.length;
    await h.notify([
      { alert: { ...alert("mail-van"), peak: { speedKmh: 88.9000015258789 } }, channelIds: [channel] },
    ]);
    await waitFor(
      async () => mails.length,
      (n) => n === before + 1,
      { what: "the e-mail" },
    );
    const mail = mails[before] as Mail;
    expect(mail.raw).toMatch(/^Subject: \[Logitrack\] Speeding <80>: Van 7 \(mail-van\) started\r$/m);
    const text = part(mail.raw, "text/plain");
    expect(text).toContain("Vehicle: Van 7 (mail-van)");
    expect(text).toContain("Peak speed: 88.9 km/h");
  });
});

describe("e-mail without SMTP_URL", () => {
  let h: NotifyHarness;
  beforeAll(async () => {
    h = await startNotifications();
    h.startWorker();
  });
  afterAll(() => h?.close());

  it("is a dead letter at once, saying why", async () => {
    const channel = await h.emailChannel(["ops@example.com"]);
    await h.notify([{ alert: alert("truck-1"), channelIds: [channel] }]);
    const log = await waitFor(
      () => h.deliveries(channel),
      (rows) => rows.length > 0,
      { what: "the log" },
    );
    expect(log).toMatchObject([{ attempt: 1, status: "dead", error: "SMTP_URL is not set" }]);
  });
});
