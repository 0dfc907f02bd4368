// The one error type a wire decoder throws. Whatever bytes arrive, a decoder
// either returns a valid value or throws a DecodeError with one of these
// codes, so a caller can drop/close, count by code and log one line, and
// never mistake garbage input for a bug of its own.
//
// ONLY APPEND TO THIS LIST: the codes are counted and logged by name.

export type DecodeErrorCode =
  // TCP framing (docs/protocol.md 2.1)
  | 'frame_too_large' // length prefix above the receiver's maximum
  | 'frame_malformed' // empty body, or a body that does not end in NUL
  // KIT commands (2.2, 2.3)
  | 'unknown_command' // the first field names no command of this direction
  | 'missing_field' // a required field (or list element) is absent
  | 'too_many_fields' // a list command carries more elements than its bound
  | 'bad_utf8' // the body is not valid UTF-8
  | 'bad_channel_name' // not '#'/'@' plus 1-63 printable ASCII characters
  | 'bad_id' // a peer id or msgId that is not 1-64 printable ASCII characters
  | 'bad_number' // not canonical decimal 0..2^53-1
  | 'text_too_long' // SAY/RELAY text above 4,096 bytes
  // PeerPDU (3.2, 3.3)
  | 'pdu_malformed' // not msgpack, not a map, a key missing or of the wrong type, duplicate entries
  | 'pdu_version' // a `version` other than 1
  | 'pdu_bounds' // a value of the right type outside its bound (length, range, count, private channel)
  | 'pdu_auth' // a secret is configured and the tag is missing or wrong
  // KIT connection rules (2.3): well-formed commands out of their place
  | 'not_joined' // a command other than JOIN before the connection's JOIN
  | 'second_channel'; // a JOIN of another channel on a joined connection (one connection per channel)

/**
 * A decode error is an input condition, not a bug: it carries no stack
 * trace (the code and message say what was wrong). Capturing one costs
 * several microseconds, which a peer flooding garbage would make us pay per
 * datagram or frame.
 */
export class DecodeError extends Error {
  readonly code: DecodeErrorCode;

  constructor(code: DecodeErrorCode, message?: string) {
    const stackTraceLimit = Error.stackTraceLimit;
    Error.stackTraceLimit = 0;
    try {
      super(message === undefined ? code : `${code}: ${message}`);
    } finally {
      Error.stackTraceLimit = stackTraceLimit;
    }
    this.name = 'DecodeError';
    this.code = code;
  }
}
