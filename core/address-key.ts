import { isIPv6 } from "node:net";

/**
 * The key a source address is limited under: an IPv4-mapped IPv6 address as its IPv4 address,
 * any other IPv6 address as its /64 (what one host or one subscriber line is given, so a host
 * cannot step around its limit by changing the low bits), everything else as it is.
 */
export function addressKey(address: string | undefined): string {
  if (!address) return "unknown";
  const mapped = /^::ffff:(\d{1,3}(?:\.\d{1,3}){3})$/i.exec(address);
  if (mapped) return mapped[1] as string;
  if (!isIPv6(address)) return address;
  const [head = "", tail] = (address.split("%")[0] as string).split("::");
  // 16-bit groups; an embedded IPv4 address (always last) stands for two
  const groups = (s: string | undefined) =>
    s ? s.split(":").flatMap((g) => (g.includes(".") ? ["0", "0"] : [g])) : [];
  const first = groups(head);
  const last = groups(tail);
  const all =
    tail === undefined ? first : [...first, ...Array(8 - first.length - last.length).fill("0"), ...last];
  const prefix = all.slice(0, 4).map((g) => Number.parseInt(g, 16).toString(16));
  return `${prefix.join(":")}::/64`;
}
