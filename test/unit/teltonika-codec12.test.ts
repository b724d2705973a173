import { describe, expect, it } from "vitest";
import {
  COMMAND,
  codec12Text,
  decodeCodec12,
  encodeCodec12,
  RESPONSE,
} from "../../broker/teltonika-codec12.ts";

// The command packets of Teltonika's Codec 12 documentation (Teltonika's published "Codec 12" document).
describe("Codec 12", () => {
  it("encodes the documented getinfo and getio commands byte for byte", () => {
    expect(encodeCodec12(COMMAND, "getinfo").toString("hex").toUpperCase()).toBe(
      "000000000000000F0C010500000007676574696E666F0100004312",
    );
    expect(encodeCodec12(COMMAND, "getio").toString("hex").toUpperCase()).toBe(
      "000000000000000D0C010500000005676574696F01000000CB",
    );
  });

  it("decodes a response's type and text; refuses what is not a Codec 12 packet", () => {
    const text = "DI1:1 DI2:0 DI3:0 AIN1:0 AIN2:16924 AIN3:0 DO1:0 DO2:0";
    expect(decodeCodec12(encodeCodec12(RESPONSE, text))).toEqual({ type: RESPONSE, text });
    const bad = encodeCodec12(RESPONSE, text);
    bad.writeUInt32BE(999, 8 + 3);
    expect(decodeCodec12(bad)).toBeUndefined();
  });

  it("carries a command payload that is printable ASCII text; other payloads stay MQTT-only", () => {
    expect(codec12Text("setdigout 1")).toBe("setdigout 1");
    for (const p of [{ cmd: "getinfo" }, "", "a\nb", "é", "x".repeat(513), 7])
      expect(codec12Text(p)).toBeUndefined();
  });
});
