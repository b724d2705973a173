import type { Client } from "aedes";
import { addressKey } from "../../core/address-key.ts";
import { AddressLimit } from "../../core/address-limit.ts";

export { AddressLimit, addressKey };

/** The peer address of a connection: the socket's (TCP, TLS), or the upgrade request's (WebSocket). */
export function remoteAddressOf(client: Client): string | undefined {
  const c = client as unknown as {
    conn?: { remoteAddress?: string };
    req?: { socket?: { remoteAddress?: string } };
  };
  return c.conn?.remoteAddress ?? c.req?.socket?.remoteAddress;
}
