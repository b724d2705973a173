import type { LookupAddress } from "node:dns";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  checkWebhookUrl,
  guardedLookup,
  type Lookup,
  WebhookAddressError,
} from "../../core/webhook-address.ts";
import { createWebhookSender } from "../../worker/notify/webhook.ts";
import { waitFor } from "../support/wait.ts";
import { alert, type NotifyHarness, startNotifications } from "./support/harness.ts";
import { type Receiver, startReceiver } from "./support/receiver.ts";

/** A resolver answering `address` for every name: a DNS answer the attacker controls. */
const resolvesTo =
  (address: string): Lookup =>
  (_host, cb) =>
    cb(null, [{ address, family: address.includes(":") ? 6 : 4 } satisfies LookupAddress]);

const refusedReason = async (url: string, allowPrivate = false) => {
  try {
    await checkWebhookUrl(url, allowPrivate);
    return undefined;
  } catch (err) {
    expect(err).toBeInstanceOf(WebhookAddressError);
    return (err as Error).message;
  }
};

describe("webhook SSRF guard", () => {
  let receiver: Receiver;
  beforeAll(async () => {
    receiver = await startReceiver();
  });
  afterAll(() => receiver?.close());

  it("refuses loopback, private, link-local and unique-local addresses, names resolving to them, and other schemes", async () => {
    const refused: [string, RegExp][] = [
      ["http://127.0.0.1/hook", /127\.0\.0\.1 is a private, loopback or link-local address/],
      ["http://127.1.2.3:8080/hook", /private, loopback or link-local/],
      ["http://10.0.0.5/hook", /10\.0\.0\.5/],
      ["http://172.16.1.1/hook", /private/],
      ["http://192.168.1.10/hook", /private/],
      ["http://169.254.169.254/latest/meta-data/", /169\.254\.169\.254/],
      ["http://0.0.0.0/", /private/],
      ["http://2130706433/", /127\.0\.0\.1/], // 127.0.0.1 as one number
      ["http://[::1]/hook", /::1 is a private/],
      ["http://[::ffff:127.0.0.1]/hook", /private/],
      // IPv6 forms that embed an IPv4 address (the attacker trial of the security issue)
      ["http://[64:ff9b::7f00:1]/hook", /private/], // NAT64 of 127.0.0.1
      ["http://[::127.0.0.1]/hook", /private/], // IPv4-compatible
      ["http://[2002:7f00:1::]/hook", /private/], // 6to4 of 127.0.0.1
      ["http://[2001:0:4136:e378::1]/hook", /private/], // Teredo
      ["http://[fd12:3456::1]/hook", /private/],
      ["http://[fe80::1]/hook", /private/],
      [`http://localhost:${receiver.port}/hook`, /localhost resolves to (127\.0\.0\.1|::1)/],
      ["ftp://example.com/x", /scheme ftp: is not allowed/],
      ["file:///etc/passwd", /scheme file: is not allowed/],
      ["http://user:pw@example.com/", /credentials/],
      ["not a url", /not a URL/],
    ];
    for (const [url, reason] of refused) expect(await refusedReason(url), url).toMatch(reason);
    // a public address literal needs no DNS here
    expect(await refusedReason("https://93.184.216.34/hook")).toBeUndefined();
    expect(await refusedReason("http://[2606:2800:220:1::]/hook")).toBeUndefined();
  });

  it("says in words that a host name does not resolve, without the resolver's errno text", async () => {
    const failing =
      (code: string): Lookup =>
      (host, cb) =>
        cb(Object.assign(new Error(`getaddrinfo ${code} ${host}`), { code }), []);
    const reason = (code: string) =>
      checkWebhookUrl("https://no-such-host.invalid/hook", false, failing(code)).catch(
        (err: Error) => err.message,
      );
    expect(await reason("ENOTFOUND")).toBe("no-such-host.invalid: the host name does not resolve");
    expect(await reason("EAI_AGAIN")).toBe(
      "no-such-host.invalid: the host name could not be resolved now; try again",
    );
  });

  it("allows private receivers with WEBHOOK_ALLOW_PRIVATE (on-premise, tests)", async () => {
    for (const url of [
      "http://127.0.0.1/hook",
      "http://10.0.0.5/",
      "http://[::1]/",
      `http://localhost:${receiver.port}/`,
    ])
      expect(await refusedReason(url, true), url).toBeUndefined();
    // the scheme is checked all the same
    expect(await refusedReason("gopher://127.0.0.1/", true)).toMatch(/scheme/);
  });

  it("checks again at delivery: a name that resolved to a public address when saved but now resolves to loopback is not connected to", async () => {
    const url = `http://hooks.example.test:${receiver.port}/hook`;
    // saved: the name resolved to a public address
    await expect(checkWebhookUrl(url, false, resolvesTo("93.184.216.34"))).resolves.toBeInstanceOf(URL);
    // delivered: the same name now answers 127.0.0.1, where the receiver listens
    const sender = createWebhookSender({
      timeoutMs: 5000,
      allowPrivate: false,
      lookup: resolvesTo("127.0.0.1"),
    });
    const out = await sender.send({ url, secret: "s".repeat(32) }, "d-1", alert("truck-1"));
    sender.close();
    expect(out).toMatchObject({ ok: false, final: true });
    expect(out.error).toMatch(/^refused: hooks\.example\.test resolves to 127\.0\.0\.1/);
    expect(receiver.requests).toHaveLength(0);
    // with WEBHOOK_ALLOW_PRIVATE the same delivery reaches the receiver
    const allowed = createWebhookSender({ timeoutMs: 5000, allowPrivate: true });
    const ok = await allowed.send(
      { url: `http://localhost:${receiver.port}/hook`, secret: "s".repeat(32) },
      "d-2",
      alert("truck-1"),
    );
    allowed.close();
    expect(ok).toMatchObject({ ok: true, httpStatus: 200 });
    expect(receiver.requests).toHaveLength(1);
  });

  it("hands the socket the addresses it checked, one or all as net.connect asks, and refuses a mixed answer", async () => {
    const ask = (lookup: Lookup, all: boolean) =>
      new Promise<{ err: Error | null; address: unknown; family?: number }>((resolve) =>
        guardedLookup(lookup)("hooks.example.test", { all }, (err, address, family) =>
          resolve({ err, address, ...(family === undefined ? {} : { family }) }),
        ),
      );
    expect(await ask(resolvesTo("93.184.216.34"), false)).toEqual({
      err: null,
      address: "93.184.216.34",
      family: 4,
    });
    expect(await ask(resolvesTo("2606:2800:220:1::"), true)).toEqual({
      err: null,
      address: [{ address: "2606:2800:220:1::", family: 6 }],
    });
    const mixed: Lookup = (_h, cb) =>
      cb(null, [
        { address: "93.184.216.34", family: 4 },
        { address: "10.0.0.1", family: 4 },
      ]);
    const refused = await ask(mixed, true);
    expect(refused.err).toBeInstanceOf(WebhookAddressError);
    expect(refused.err?.message).toMatch(/resolves to 10\.0\.0\.1/);
  });

  it("does not follow redirects: a 3xx is a failed attempt", async () => {
    const redirecting = await startReceiver(() => 302);
    const sender = createWebhookSender({ timeoutMs: 5000, allowPrivate: true });
    const out = await sender.send({ url: redirecting.url, secret: "s".repeat(32) }, "d-3", alert("truck-1"));
    sender.close();
    await redirecting.close();
    expect(out).toMatchObject({ ok: false, httpStatus: 302, error: "HTTP 302" });
    expect(out.final).toBeUndefined();
  });
});

describe("SSRF refusal in the notifications worker", () => {
  let h: NotifyHarness;
  let receiver: Receiver;
  beforeAll(async () => {
    h = await startNotifications({ WEBHOOK_ALLOW_PRIVATE: "false" });
    h.startWorker();
    receiver = await startReceiver();
  });
  afterAll(async () => {
    await receiver?.close();
    await h?.close();
  });

  it("a channel saved while private addresses were allowed is refused at delivery once they are not: dead at once, never connected", async () => {
    const byName = await h.webhookChannel(`http://localhost:${receiver.port}/hook`);
    const byAddress = await h.webhookChannel(`http://127.0.0.1:${receiver.port}/hook`);
    const metadata = await h.webhookChannel("http://169.254.169.254/latest/meta-data/");
    const all = [byName, byAddress, metadata];
    await h.notify([{ alert: alert("truck-5"), channelIds: all.map((c) => c.id) }]);
    for (const c of all) {
      const log = await waitFor(
        () => h.deliveries(c.id),
        (rows) => rows.length > 0,
        { what: `channel ${c.id}'s log` },
      );
      expect(log).toHaveLength(1);
      expect(log[0]).toMatchObject({ attempt: 1, status: "dead", httpStatus: null });
      expect(log[0]?.error).toMatch(/^refused: .*private, loopback or link-local/);
    }
    expect(receiver.requests).toHaveLength(0);
  });
});
