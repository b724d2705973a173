import { createHmac } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { TEST_SENDS_PER_MINUTE } from "../../api/routes/notification-channels.ts";
import { loadConfig } from "../../core/config.ts";
import { createLogger } from "../../core/logger.ts";
import { createRedis } from "../../core/redis.ts";
import { createNotifyWorker, type NotifyWorker } from "../../worker/notify/create-notify-worker.ts";
import { type ApiHarness, startApi } from "../api/harness.ts";
import { waitFor } from "../support/wait.ts";
import { type Receiver, startReceiver } from "./support/receiver.ts";

const PUBLIC_URL = "https://93.184.216.34/hooks/logitrack";

describe("/api/notification-channels", () => {
  let h: ApiHarness;
  let admin: { authorization: string };
  let viewer: { authorization: string };
  let receiver: Receiver;
  let worker: NotifyWorker;
  const conns: ReturnType<typeof createRedis>[] = [];
  const call = (
    method: "GET" | "POST" | "PATCH" | "DELETE",
    url: string,
    payload?: object,
    headers = admin,
  ) => h.app.inject({ method, url, headers, ...(payload ? { payload } : {}) });

  beforeAll(async () => {
    h = await startApi({ env: { WEBHOOK_ALLOW_PRIVATE: "false" } });
    admin = h.bearer(h.adminToken);
    viewer = h.bearer(h.viewerToken);
    receiver = await startReceiver();
    const conn = () => {
      const r = createRedis(h.redisUrl);
      conns.push(r);
      return r;
    };
    // the worker's consumer, allowed to reach the local receiver the test runs
    worker = createNotifyWorker({
      config: loadConfig({
        ...process.env,
        ...{ DATABASE_URL: h.config.DATABASE_URL, REDIS_URL: h.redisUrl },
        WEBHOOK_ALLOW_PRIVATE: "true",
      }),
      pool: h.pool,
      redis: conn(),
      connection: conn(),
      log: createLogger("notify-test", h.config.LOG_LEVEL),
    });
  });
  afterAll(async () => {
    await worker?.close();
    for (const r of conns) r.disconnect();
    await receiver?.close();
    await h?.close();
  });

  it("creates a webhook channel: the secret in full once, masked ever after", async () => {
    const secret = "my-webhook-secret-0123456789";
    const res = await call("POST", "/api/notification-channels", {
      kind: "webhook",
      url: PUBLIC_URL,
      secret,
      name: "ops",
    });
    expect(res.statusCode).toBe(201);
    const created = res.json();
    expect(created).toMatchObject({ kind: "webhook", name: "ops", url: PUBLIC_URL, secret, enabled: true });
    expect(res.headers.location).toBe(`/api/notification-channels/${created.id}`);

    const one = await call("GET", `/api/notification-channels/${created.id}`, undefined, viewer);
    expect(one.statusCode).toBe(200);
    expect(one.json().secret).toBe("****6789");
    const list = await call("GET", "/api/notification-channels", undefined, viewer);
    expect(list.statusCode).toBe(200);
    expect(list.body).not.toContain(secret);
    expect(list.json().items.find((c: { id: number }) => c.id === created.id)).toMatchObject({
      secret: "****6789",
    });

    // no secret given: one is generated, shown once
    const gen = await call("POST", "/api/notification-channels", { kind: "webhook", url: PUBLIC_URL });
    expect(gen.statusCode).toBe(201);
    expect(gen.json().secret).toMatch(/^whsec_[A-Za-z0-9_-]{32}$/);
    expect(gen.json().name).toBe("93.184.216.34");
    const patched = await call("PATCH", `/api/notification-channels/${gen.json().id}`, { enabled: false });
    expect(patched.statusCode).toBe(200);
    expect(patched.json()).toMatchObject({ enabled: false, secret: `****${gen.json().secret.slice(-4)}` });
  });

  it("creates an e-mail channel and changes its recipients", async () => {
    const res = await call("POST", "/api/notification-channels", { kind: "email", to: ["ops@example.com"] });
    expect(res.statusCode).toBe(201);
    expect(res.json()).toMatchObject({
      kind: "email",
      to: ["ops@example.com"],
      secret: null,
      name: "ops@example.com",
    });
    const id = res.json().id;
    const p = await call("PATCH", `/api/notification-channels/${id}`, {
      to: ["a@example.com", "b@example.com"],
      name: "Night shift",
    });
    expect(p.statusCode).toBe(200);
    expect(p.json()).toMatchObject({ to: ["a@example.com", "b@example.com"], name: "Night shift" });
  });

  it("answers 400 naming the field for invalid channels, and refuses private webhook URLs", async () => {
    const cases: [object, string, RegExp?][] = [
      [{ kind: "sms", to: ["a@example.com"] }, "body.kind"],
      [{ kind: "webhook" }, "body.url"],
      [{ kind: "webhook", url: PUBLIC_URL, secret: "short" }, "body.secret"],
      [{ kind: "email", to: [] }, "body.to"],
      [{ kind: "email", to: ["not an address"] }, "body.to.0"],
      [{ kind: "email", to: ["a@example.com"], url: PUBLIC_URL }, "body"],
      [{ kind: "webhook", url: "ftp://example.com/x" }, "body.url", /scheme ftp: is not allowed/],
      [{ kind: "webhook", url: "http://127.0.0.1:8080/hook" }, "body.url", /127\.0\.0\.1 is a private/],
      [{ kind: "webhook", url: "http://10.1.2.3/hook" }, "body.url", /private/],
      [
        { kind: "webhook", url: "http://169.254.169.254/latest/meta-data/" },
        "body.url",
        /169\.254\.169\.254/,
      ],
      [{ kind: "webhook", url: "http://[::1]/hook" }, "body.url", /::1/],
      [
        { kind: "webhook", url: `http://localhost:${receiver.port}/hook` },
        "body.url",
        /localhost resolves to/,
      ],
    ];
    for (const [body, field, message] of cases) {
      const res = await call("POST", "/api/notification-channels", body);
      expect(res.statusCode, JSON.stringify(body)).toBe(400);
      expect(res.json().code).toBe("E_VALIDATION");
      expect(res.json().field, JSON.stringify(body)).toBe(field);
      if (message) expect(res.json().message).toMatch(message);
    }
    const n = await h.pool.query(
      "SELECT count(*)::int AS n FROM notification_channels WHERE config->>'url' NOT LIKE 'https://93.%'",
    );
    expect(n.rows[0].n).toBe(0);

    const web = (
      await call("POST", "/api/notification-channels", { kind: "webhook", url: PUBLIC_URL })
    ).json();
    const mail = (
      await call("POST", "/api/notification-channels", { kind: "email", to: ["a@example.com"] })
    ).json();
    for (const [id, body, field] of [
      [web.id, { url: "http://192.168.0.1/" }, "body.url"],
      [web.id, { to: ["a@example.com"] }, "body.to"],
      [mail.id, { url: PUBLIC_URL }, "body.url"],
      [mail.id, { secret: "x".repeat(20) }, "body.secret"],
      [mail.id, { kind: "webhook" }, "body"],
    ] as const) {
      const res = await call("PATCH", `/api/notification-channels/${id}`, body);
      expect(res.statusCode, JSON.stringify(body)).toBe(400);
      expect(res.json().field).toBe(field);
    }
    expect((await call("GET", `/api/notification-channels/${web.id}`)).json().url).toBe(PUBLIC_URL);
  });

  it("lets viewers read but not write (403), and anonymous callers nothing (401)", async () => {
    const web = (
      await call("POST", "/api/notification-channels", { kind: "webhook", url: PUBLIC_URL })
    ).json();
    const writes: ["POST" | "PATCH" | "DELETE", string, object?][] = [
      ["POST", "/api/notification-channels", { kind: "webhook", url: PUBLIC_URL }],
      ["PATCH", `/api/notification-channels/${web.id}`, { enabled: false }],
      ["DELETE", `/api/notification-channels/${web.id}`],
      ["POST", `/api/notification-channels/${web.id}/test`],
    ];
    for (const [method, url, body] of writes) {
      const res = await call(method, url, body, viewer);
      expect(res.statusCode, `${method} ${url}`).toBe(403);
      expect(res.json().code).toBe("E_FORBIDDEN");
    }
    for (const url of [
      "/api/notification-channels",
      `/api/notification-channels/${web.id}`,
      `/api/notification-channels/${web.id}/deliveries`,
    ]) {
      expect((await call("GET", url, undefined, viewer)).statusCode, url).toBe(200);
      expect((await h.app.inject({ method: "GET", url })).statusCode, url).toBe(401);
    }
    expect((await call("GET", `/api/notification-channels/${web.id}`)).json().enabled).toBe(true);
  });

  it("send test: at most TEST_SENDS_PER_MINUTE a minute per channel, however its id is spelled", async () => {
    const add = async (name: string) =>
      Number(
        (
          await h.pool.query<{ id: string }>(
            "INSERT INTO notification_channels (name, kind, config, secret, enabled) VALUES ($1, 'webhook', $2, 'a-secret-of-some-length', false) RETURNING id",
            [name, JSON.stringify({ url: receiver.url })],
          )
        ).rows[0]?.id,
      );
    const flooded = await add("flooded");
    const other = await add("other");
    for (let i = 0; i < TEST_SENDS_PER_MINUTE; i++)
      expect((await call("POST", `/api/notification-channels/${flooded}/test`)).statusCode).toBe(202);
    const refused = await call("POST", `/api/notification-channels/${flooded}/test`);
    expect(refused.statusCode).toBe(429);
    expect(refused.json().code).toBe("E_RATE_LIMITED");
    expect((await call("POST", `/api/notification-channels/0${flooded}/test`)).statusCode).toBe(429);
    // another channel is not held back by it
    expect((await call("POST", `/api/notification-channels/${other}/test`)).statusCode).toBe(202);
    // the receiver got exactly the accepted ones (and nothing arrives later, into the next test)
    const mine = () =>
      receiver.requests.filter((r) => [flooded, other].includes(JSON.parse(r.body).channelId)).length;
    await waitFor(
      async () => mine(),
      (n) => n >= TEST_SENDS_PER_MINUTE + 1,
      { what: "the accepted tests" },
    );
    expect(mine()).toBe(TEST_SENDS_PER_MINUTE + 1);
  });

  it("send test: queues a test message, answers its delivery id, and the delivery log shows it", async () => {
    const secret = "test-secret-abcdefghijklmnop";
    // a receiver on loopback: saved directly, as an on-premise channel would be with WEBHOOK_ALLOW_PRIVATE
    const r = await h.pool.query<{ id: string }>(
      "INSERT INTO notification_channels (name, kind, config, secret, enabled) VALUES ('local', 'webhook', $1, $2, false) RETURNING id",
      [JSON.stringify({ url: receiver.url }), secret],
    );
    const id = Number(r.rows[0]?.id);
    const res = await call("POST", `/api/notification-channels/${id}/test`);
    expect(res.statusCode).toBe(202);
    const { deliveryId } = res.json();
    expect(deliveryId).toMatch(new RegExp(`^t[0-9a-f-]{36}-c${id}$`));

    const log = await waitFor(
      async () =>
        (await call("GET", `/api/notification-channels/${id}/deliveries`, undefined, viewer)).json()
          .items as { latencyMs: number }[],
      (items: { latencyMs: number }[]) => items.length > 0,
      { what: "the test delivery" },
    );
    expect(log).toMatchObject([
      { deliveryId, phase: "test", attempt: 1, status: "ok", httpStatus: 200, alertId: null, error: null },
    ]);
    expect(log[0]?.latencyMs).toBeGreaterThanOrEqual(0);
    const got = receiver.requests.at(-1);
    expect(JSON.parse(got?.body ?? "{}")).toMatchObject({ type: "test", channelId: id, deliveryId });
    const [, t, v1] = /^t=(\d+),v1=([0-9a-f]+)$/.exec(String(got?.headers["x-logitrack-signature"])) ?? [];
    expect(v1).toBe(createHmac("sha256", secret).update(`${t}.${got?.body}`).digest("hex"));

    // paged, newest first; filtered by delivery
    await call("POST", `/api/notification-channels/${id}/test`);
    await waitFor(
      async () => (await call("GET", `/api/notification-channels/${id}/deliveries`)).json().items.length,
      (n) => n === 2,
    );
    const page1 = (await call("GET", `/api/notification-channels/${id}/deliveries?limit=1`)).json();
    expect(page1.items).toHaveLength(1);
    expect(page1.items[0].deliveryId).not.toBe(deliveryId);
    const page2 = (
      await call("GET", `/api/notification-channels/${id}/deliveries?limit=1&cursor=${page1.nextCursor}`)
    ).json();
    expect(page2).toMatchObject({ items: [{ deliveryId }], nextCursor: null });
    const one = (
      await call("GET", `/api/notification-channels/${id}/deliveries?deliveryId=${deliveryId}`)
    ).json();
    expect(one.items.map((d: { deliveryId: string }) => d.deliveryId)).toEqual([deliveryId]);

    // an alert's attempts name its vehicle and rule; filtered by outcome
    await h.pool.query("INSERT INTO vehicles (id, name, credential_hash) VALUES ('log-van', 'Van 9', 'x')");
    const alert = await h.pool.query<{ id: string }>(
      `INSERT INTO alerts (rule_id, rule_name, vehicle_id, kind, started_at, confirmed_at)
       VALUES (1, 'Speeding 80', 'log-van', 'speeding', now(), now()) RETURNING id`,
    );
    await h.pool.query(
      `INSERT INTO notification_deliveries (channel_id, delivery_id, alert_id, phase, attempt, status, error)
       VALUES ($1, 'd-1', $2, 'start', 1, 'failed', 'HTTP 500'), ($1, 'd-1', $2, 'start', 2, 'dead', 'HTTP 500')`,
      [id, alert.rows[0]?.id],
    );
    const dead = (await call("GET", `/api/notification-channels/${id}/deliveries?status=dead`)).json();
    expect(dead.items).toMatchObject([
      { status: "dead", attempt: 2, vehicleId: "log-van", vehicleName: "Van 9", ruleName: "Speeding 80" },
    ]);
    const ok = (await call("GET", `/api/notification-channels/${id}/deliveries?status=ok`)).json();
    expect(ok.items.map((d: { phase: string }) => d.phase)).toEqual(["test", "test"]);
    expect(ok.items[0]).toMatchObject({ vehicleId: null, ruleName: null });
  });

  it("deletes a channel with its log; unknown ids answer 404", async () => {
    const web = (
      await call("POST", "/api/notification-channels", { kind: "webhook", url: PUBLIC_URL })
    ).json();
    expect((await call("DELETE", `/api/notification-channels/${web.id}`)).statusCode).toBe(204);
    for (const [method, url] of [
      ["GET", `/api/notification-channels/${web.id}`],
      ["GET", `/api/notification-channels/${web.id}/deliveries`],
      ["DELETE", `/api/notification-channels/${web.id}`],
      ["PATCH", `/api/notification-channels/${web.id}`],
      ["POST", `/api/notification-channels/${web.id}/test`],
    ] as const) {
      const res = await call(method, url, method === "PATCH" ? { enabled: true } : undefined);
      expect(res.statusCode, `${method} ${url}`).toBe(404);
      expect(res.json().code).toBe("E_NOT_FOUND");
    }
    expect((await call("GET", "/api/notification-channels/abc")).json().field).toBe("params.id");
  });
});
