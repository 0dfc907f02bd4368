// Decoding a PeerPDU once per datagram, however many nodes receive it.
import { decodePeerPduPart, type PeerPduPart } from '../wire/peer-pdu.ts';

/**
 * Decoded datagrams by Buffer object. The simulator hands one Buffer to
 * every receiver of a multicast datagram (receivers never mutate it, nor the
 * decoded part), so N nodes of one process decode it once, not N times. A
 * real socket makes a fresh Buffer per datagram: one WeakMap miss each.
 * Keyed by the secret too (the same bytes can be valid under one secret and
 * not under another); decode errors are remembered like results.
 */
const decoded = new WeakMap<Buffer, { secret: Buffer | undefined; part?: PeerPduPart; error?: unknown }>();

export function decodeShared(datagram: Buffer, secret: Buffer | undefined): PeerPduPart {
  const hit = decoded.get(datagram);
  if (hit !== undefined && hit.secret === secret) {
    if (hit.part !== undefined) return hit.part;
    throw hit.error;
  }
  try {
    const part = decodePeerPduPart(datagram, secret);
    decoded.set(datagram, { secret, part });
    return part;
  } catch (error) {
    decoded.set(datagram, { secret, error });
    throw error;
  }
}
