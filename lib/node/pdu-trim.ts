// Our PeerPDU as datagrams, trimmed when it does not fit. A round holds 48
// datagrams (docs/protocol.md 3.2). Should what we announce ever exceed
// that, member lists go first (MEMBERS on TCP carries them to members
// anyway), then memberships and invites, then the standby lists (STANDBY on
// TCP carries them too): announcing the hosted channels themselves is what
// failover and split-brain resolution need. With at most maxHostedChannels
// created by remote JOINs, the last form fits, takeovers on top of them
// included, unless the node took over hundreds more; then encoding throws.
import { encodePeerPdu, PduTooLargeError, type PeerPdu } from '../wire/peer-pdu.ts';

export interface EncodedPdu {
  datagrams: Buffer[];
  /** What was left out to fit, if anything. */
  dropped?: string;
}

export function encodeTrimmed(pdu: PeerPdu, secret?: Buffer): EncodedPdu {
  // Trimmed copies are made only when needed: this runs every round.
  const withoutMembers = (): PeerPdu => ({ ...pdu, channels: pdu.channels.map((c) => ({ ...c, members: [] })) });
  const withoutLists = (): PeerPdu => ({ ...withoutMembers(), memberships: [], invites: [] });
  const forms: Array<[dropped: string | undefined, form: () => PeerPdu]> = [
    [undefined, () => pdu],
    ['members', withoutMembers],
    ['members, memberships, invites', withoutLists],
    ['members, memberships, invites, standbys', () => ({ ...withoutLists(), channels: pdu.channels.map((c) => ({ ...c, members: [], standbys: [] })) })],
  ];
  for (const [dropped, form] of forms.slice(0, -1)) {
    try {
      return { datagrams: encodePeerPdu(form(), secret), dropped };
    } catch (error) {
      // Too large for one round: try the next form. Anything else is a bug.
      if (!(error instanceof PduTooLargeError)) throw error;
    }
  }
  const [dropped, form] = forms[forms.length - 1]!;
  return { datagrams: encodePeerPdu(form(), secret), dropped };
}
