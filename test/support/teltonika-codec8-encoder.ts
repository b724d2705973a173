// the encoder lives with the simulator, which drives Teltonika trucks with it
export { type EncodableRecord, encodeAvlPacket, imeiHandshake } from "../../simulator/teltonika-codec8.ts";
