/**
 * The DNS wire format, through the npm `dns-packet` library (typed loosely: its records are
 * plain objects such as `{ name, type, ttl, data }`). `decode` takes any Uint8Array (the
 * library reads through Buffer methods, so the bytes are viewed as a Buffer without a copy).
 */

import { Buffer } from "node:buffer";
import packet from "dns-packet";

// deno-lint-ignore no-explicit-any
export type Packet = any;

/** Decodes one DNS message; throws on malformed input. */
export function decode(bytes: Uint8Array): Packet {
  return packet.decode(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
}

/** Encodes one DNS message. */
export function encode(p: Packet): Uint8Array {
  return packet.encode(p);
}
