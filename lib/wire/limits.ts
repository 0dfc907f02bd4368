// Every bound of the wire formats (docs/protocol.md sections 2 and 3), in one
// place. Decoders enforce them on input; encoders refuse to produce output
// that breaks them. Units go last in the names where there is a unit.

/** Largest TCP frame body a receiver accepts by default (`--max-frame`): bounds per-connection buffering. */
export const MAX_FRAME_BYTES_DEFAULT = 65536;

/**
 * A connection must send its JOIN within 10 s of being accepted (after its
 * TLS handshake, if any, which has 10 s of its own): a client that connects
 * and says nothing would otherwise hold a socket and its buffers for as
 * long as it likes. Every real client JOINs in its first frame.
 */
export const JOIN_TIMEOUT_MS = 10_000;

/** A channel name is '#' or '@' plus 1-63 printable ASCII characters (2.2): fits any log line and PDU entry. */
export const MAX_CHANNEL_NAME_BYTES = 64;

/** Peer ids and msgIds are 1-64 printable ASCII characters (2.2): room for a UUID or a MAC plus a suffix. */
export const MAX_ID_BYTES = 64;

/** SAY text is at most 4,096 bytes of UTF-8 (2.2): a chat line, not a file transfer; keeps history bounded. */
export const MAX_TEXT_BYTES = 4096;

/**
 * The longest SAY frame a host sends (2.3): the length prefix, `SAY`, an
 * author id and a msgId of 64 bytes, 4,096 bytes of text, a seq of 16
 * digits and `relay`, each field NUL-terminated.
 */
export const MAX_SAY_FRAME_BYTES = 4 + 4 + (MAX_ID_BYTES + 1) + (MAX_TEXT_BYTES + 1) + (MAX_ID_BYTES + 1) + 17 + 6;

/** An INVITE names 1 to 64 peers (2.3): one command cannot make a host announce an unbounded invite list. */
export const MAX_INVITE_IDS = 64;

/** STANDBY ranks 1 to 16 peers (2.3): enough successive takeovers for any realistic failure sequence. */
export const MAX_STANDBYS = 16;

/** A chanmesh node elects at most 8 standbys a channel (`--standbys`), half what STANDBY may carry: a channel entry of 8 standbys and a part of its members still fits one PDU datagram. */
export const MAX_ELECTED_STANDBYS = 8;

/**
 * Peers a node tracks, at most (3.2, 4.1): its peer table (`maxPeers`), the
 * PDU rounds it reassembles and the dropped peers whose newest round it
 * remembers. A peer past it is not taken in until one is disconnected.
 */
export const MAX_PEERS_DEFAULT = 1024;

/** MEMBERS lists 0 to 512 peers, and a channel has at most 512 members in all PDU parts (2.3, 3.2). */
export const MAX_MEMBERS = 512;

/**
 * Connections that have not JOINed yet, at most, per node. The join timeout
 * bounds how long each stays, not how many there are: a client opening
 * connections as fast as it can would hold every descriptor the process has,
 * and nobody could JOIN any more. Past this bound a new connection is
 * closed at once; the joined ones (the members) are not affected. Twice
 * the largest channel: when two full channels fail over to this node at
 * once, all their members may connect before any of them has JOINed.
 */
export const MAX_AWAITING_JOIN = 2 * MAX_MEMBERS;

/** CLIENT-NICK is at most 32 bytes of UTF-8 (3.2): a display name, not a message. */
export const MAX_NICK_BYTES = 32;

/** One PeerPDU datagram is at most 1,400 bytes (3.2): fits an Ethernet MTU after IP and UDP headers, so never fragmented. */
export const MAX_PDU_BYTES = 1400;

/**
 * A PDU round has at most 48 parts (3.2): a channel of 512 members with
 * 64-byte ids takes 40 in the worst case (64-byte peer id and channel name,
 * 32-byte nick, auth tag). A receiver's pending round of one peer holds at
 * most 47 decoded parts, each from one datagram of at most 1,400 bytes;
 * MAX_PENDING_PDU_PARTS bounds them over all peers together.
 */
export const MAX_PDU_PARTS = 48;

/**
 * Decoded parts of incomplete PDU rounds a receiver holds, at most, over all
 * peers together (3.2; PduAssembler): past it, the least recently updated
 * pending round is dropped. Without it the per-peer bound multiplied by the
 * tracked peers (1,024) let anyone who invents peer ids make a receiver hold
 * 1,024 x 47 decoded parts, some 425 MB of heap.
 *
 * 4,096 is 4 held parts for each peer of a full 1,024-peer table, or 87
 * worst-case rounds (47 parts held each) incomplete at the same time. Honest
 * needs are far smaller: only a node hosting many channels or long member
 * lists sends more than one datagram a round, it sends all of them back to
 * back, so its round is pending while they are in flight, and, after a
 * lost one, until its next round replaces it an interval later. The cost at
 * the bound: 4,096 x 1,400 bytes (5.7 MB) of datagrams, decoded at most
 * about 50 MB of heap (measured: 6 to 13 KiB per full part, depending on
 * how many short strings it holds).
 */
export const MAX_PENDING_PDU_PARTS = 4096;

/** At most 256 hosted channels per PDU part (3.2): bounds the work one datagram can cause. */
export const MAX_PDU_CHANNELS = 256;

/** At most 256 membership entries per PDU part, and 256 channel names per membership (3.2). */
export const MAX_PDU_MEMBERSHIPS = 256;

/** At most 64 invite entries per PDU part (3.2), each naming at most MAX_INVITE_IDS peers. */
export const MAX_PDU_INVITES = 64;

/** At most 256 hosted private channels (blinded, 3.2 `hidden`) per PDU part, as for public ones. */
export const MAX_PDU_HIDDEN = 256;

// Additions beyond the list above (same file so that every bound has one home).

/** Numbers on the wire (epoch, seq, count) are 0 to 2^53-1 (2.1, 3.2): exact in a JS number and in a double. */
export const MAX_WIRE_NUMBER = Number.MAX_SAFE_INTEGER;

/**
 * A PDU incarnation is 0 to 2^53-1 (3.2): it must grow with every restart of
 * a peer id (the real node uses its start time in ms), so a receiver can
 * tell a restart from a late datagram of the dead process.
 */
export const MAX_INCARNATION = Number.MAX_SAFE_INTEGER;

/** Servers listen on a dynamic/private port (draft; 3.2 `port`): 49152-65535, or 0 for "hosts nothing". */
export const MIN_SERVER_PORT = 49152;
export const MAX_SERVER_PORT = 65535;

/** The PDU authentication tag is one HMAC-SHA256 output (3.3). */
export const PDU_AUTH_TAG_BYTES = 32;

/** A PDU's announced interval is 0 to 2^32-1 ms (3.2): 0 means not said. */
export const MAX_PDU_INTERVAL_MS = 0xffffffff;

/**
 * The PDU intervals a chanmesh node runs at (--pdu-interval), the longest
 * of which is also the most it times a peer's liveness by (a longer
 * announced interval counts as this; section 4). Below 10 ms a cluster's
 * N^2 datagrams an interval swamp any network for no detection worth
 * having; above an hour a dead node goes unnoticed for four. And a timer
 * must stay under 2^31 ms, or Node fires it at once: a 30-day interval of
 * our own was a PDU every millisecond, and one stranger's datagram
 * announcing 2^32-1 set the silence watch firing every millisecond.
 */
export const SHORTEST_PDU_INTERVAL_MS = 10;
export const LONGEST_PDU_INTERVAL_MS = 3_600_000;
