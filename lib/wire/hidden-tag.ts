// The blinded name of a private channel (docs/protocol.md 3.2 `hidden`).
// A private channel is never named in a PeerPDU, yet its hosts must see each
// other to resolve a split brain (5.6), and its members must find a new host.
// So a host announces a tag of the name instead: whoever knows the name
// recognises the tag; nobody else learns the name from it. Without a cluster
// secret the tag is a plain hash, which a listener can test guessed names
// against; with one it is keyed by the secret, and only its holders can.
import { createHash, createHmac } from 'node:crypto';

/** 16 bytes (32 hex digits): collisions between a node's channels are out of reach, and an entry stays small. */
export const HIDDEN_TAG_HEX_DIGITS = 32;

const CONTEXT = 'chanmesh hidden channel v1\u0000';

const HIDDEN_TAG = /^[0-9a-f]{32}$/;

/** The tag of private channel `name`: SHA-256, or HMAC-SHA256 keyed by the cluster secret, of a context string and the name. */
export function hiddenTag(name: string, secret?: Buffer): string {
  const digest = secret === undefined ? createHash('sha256') : createHmac('sha256', secret);
  return digest.update(CONTEXT + name, 'utf8').digest('hex').slice(0, HIDDEN_TAG_HEX_DIGITS);
}

export function isHiddenTag(s: unknown): s is string {
  return typeof s === 'string' && HIDDEN_TAG.test(s);
}
