// Channel traffic under a shared secret (--secret): TLS 1.2 with a
// pre-shared key and an ephemeral ECDH exchange (RFC 5489,
// ECDHE-PSK-CHACHA20-POLY1305). Only a holder of the secret completes the
// handshake, every byte after it is encrypted and authenticated, and a
// recorded session cannot be decrypted later even by someone who learns
// the secret (the ECDHE half). No certificates: the cluster already shares
// a secret for its PeerPDU tags, and this profile needs nothing more.
//
// TLS 1.3 would be preferable, but Node's TLS does not offer external PSKs
// for it; TLS 1.2 with this AEAD suite is what Node and OpenSSL provide.
import { hkdfSync } from 'node:crypto';
import tls, { createSecureContext } from 'node:tls';
import { MAX_AWAITING_JOIN } from '../wire/limits.ts';

/** The one suite offered and accepted: forward secret, AEAD. */
export const PSK_CIPHERS = 'ECDHE-PSK-CHACHA20-POLY1305';

/** The PSK identity every node sends: the key is the cluster's, not a peer's, so there is nothing to name. */
export const PSK_IDENTITY = 'chanmesh-v1';

/**
 * The TLS key: HKDF-SHA256 of the secret, so that the key of the PDU tags
 * (the secret itself, docs/protocol.md 3.3) and this one differ.
 */
export function channelKey(secret: Buffer): Buffer {
  return Buffer.from(hkdfSync('sha256', secret, Buffer.alloc(0), 'chanmesh channel traffic v1', 32));
}

const version = { minVersion: 'TLSv1.2', maxVersion: 'TLSv1.2' } as const;

/**
 * A connection that has not completed its handshake by then is dropped: an
 * open socket that never says hello holds nothing of ours but the socket,
 * and Node's default (120 s) lets a stranger hold many. A handshake on a
 * LAN takes milliseconds.
 */
export const HANDSHAKE_TIMEOUT_MS = 10_000;

/**
 * Incoming handshakes in progress, at most, per listener; past it a new
 * connection is closed at once. The timeout bounds how long each stays, not
 * how many there are: a stranger without the secret, who can never JOIN,
 * could otherwise open connections as fast as it likes and hold every
 * descriptor the process has. Every connection that awaits its JOIN
 * (MAX_AWAITING_JOIN) first passed a handshake, so the same number.
 */
export const MAX_AWAITING_HANDSHAKE = MAX_AWAITING_JOIN;

/** What a server-side TLSSocket needs (the handshake's deadline is real-network.ts's, HANDSHAKE_TIMEOUT_MS). */
export function serverOptions(key: Buffer): { secureContext: tls.SecureContext; pskCallback: NonNullable<tls.TlsOptions['pskCallback']> } {
  return {
    secureContext: createSecureContext({ ...version, ciphers: PSK_CIPHERS }),
    // An unknown identity gets no key: the handshake fails.
    pskCallback: (_socket, identity) => (identity === PSK_IDENTITY ? key : null),
  };
}

export function clientOptions(key: Buffer): tls.ConnectionOptions {
  return {
    ...version,
    ciphers: PSK_CIPHERS,
    pskCallback: () => ({ psk: key, identity: PSK_IDENTITY }),
    // The server proves itself by knowing the key; there is no certificate to check.
    checkServerIdentity: () => undefined,
  };
}
