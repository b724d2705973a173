import { createServer, type IncomingHttpHeaders, type Server } from "node:http";

export interface Received {
  headers: IncomingHttpHeaders;
  /** the raw body, as signed */
  body: string;
  status: number;
}

/**
 * A webhook receiver on 127.0.0.1: records every request with the status it answered, which
 * `answer(n)` picks (n = the request's number, from 0). Delivered = answered 2xx.
 */
export async function startReceiver(answer: (n: number, body: string) => number = () => 200) {
  const requests: Received[] = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const body = Buffer.concat(chunks).toString("utf8");
      const status = answer(requests.length, body);
      requests.push({ headers: req.headers, body, status });
      res.writeHead(status, { "content-type": "text/plain" }).end(status < 300 ? "ok" : "not now");
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const addr = server.address();
  const port = typeof addr === "object" && addr ? addr.port : 0;
  return {
    url: `http://127.0.0.1:${port}/hook`,
    port,
    requests,
    /** the bodies answered 2xx, parsed, in arrival order */
    delivered: () => requests.filter((r) => r.status < 300).map((r) => JSON.parse(r.body)),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

export type Receiver = Awaited<ReturnType<typeof startReceiver>>;
