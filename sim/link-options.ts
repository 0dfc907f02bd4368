// The knobs of the simulated network, each with its effect and trade-off
// (memberlist's config.go habit). Every random choice they drive is drawn
// from the injected SeededRandom, never Math.random, so a seed replays a run.

export interface LinkOptions {
  /**
   * One-way latency of every link = latencyMsMin + an exponential tail whose
   * mean makes the total mean latencyMsMean, cut at latencyMsMax. A long
   * tail finds timeouts tuned too tight; a zero tail makes runs regular.
   */
  latencyMsMin?: number;
  latencyMsMean?: number;
  latencyMsMax?: number;
  /** Probability that one datagram copy is lost. Streams never lose bytes. */
  lossRate?: number;
  /** Probability that one datagram copy is also delivered a second time (independent latency). */
  duplicateRate?: number;
  /**
   * Probability that one datagram copy gets an extra delay, uniform in
   * [0, reorderDelayMsMax], so that it overtakes or is overtaken. Streams
   * stay in order whatever this says.
   */
  reorderRate?: number;
  reorderDelayMsMax?: number;
  /**
   * write() returns false once a stream's bufferedBytes (in flight and not
   * yet acknowledged, plus held) exceeds this, as Node's socket highWaterMark.
   */
  streamHighWaterBytes?: number;
  /**
   * onDrain fires when bufferedBytes falls to this after a refused write.
   * Lower: fewer wake-ups per megabyte; higher: the pipe never runs dry.
   */
  streamLowWaterBytes?: number;
  /**
   * A hard bound on one stream's send buffer: a writer that ignores write()'s
   * false and reaches it is a bug, so write() throws (the harness reports it).
   */
  streamBufferBytesMax?: number;
  /** Cut written chunks at random points before delivery, to exercise stream decoders. */
  splitChunks?: boolean;
  /** Datagrams held for a frozen host (its socket receive buffer); later ones are dropped. */
  frozenDatagramsMax?: number;
  /** Largest datagram sent; bigger ones are dropped, as UDP refuses them (EMSGSIZE). */
  datagramBytesMax?: number;
}

/** A LAN: sub-millisecond latency with a short tail, no loss. */
export const lanLinkDefaults: Required<LinkOptions> = {
  latencyMsMin: 0.1,
  latencyMsMean: 0.5,
  latencyMsMax: 20,
  lossRate: 0,
  duplicateRate: 0,
  reorderRate: 0,
  reorderDelayMsMax: 5,
  streamHighWaterBytes: 64 * 1024,
  streamLowWaterBytes: 32 * 1024,
  streamBufferBytesMax: 64 * 1024 * 1024,
  splitChunks: false,
  frozenDatagramsMax: 64,
  datagramBytesMax: 65_507,
};

export function resolveLinkOptions(options: LinkOptions): Required<LinkOptions> {
  const resolved = { ...lanLinkDefaults };
  for (const [key, value] of Object.entries(options)) {
    if (value !== undefined) (resolved as Record<string, unknown>)[key] = value;
  }
  const { latencyMsMin, latencyMsMean, latencyMsMax } = resolved;
  if (!(latencyMsMin >= 0 && latencyMsMean >= latencyMsMin && latencyMsMax >= latencyMsMean)) {
    throw new RangeError(
      `latency must satisfy 0 <= min <= mean <= max, got ${latencyMsMin} / ${latencyMsMean} / ${latencyMsMax}`,
    );
  }
  for (const key of ['lossRate', 'duplicateRate', 'reorderRate'] as const) {
    const rate = resolved[key];
    if (!(rate >= 0 && rate <= 1)) throw new RangeError(`${key} must be in [0, 1], got ${rate}`);
  }
  if (!(resolved.streamLowWaterBytes <= resolved.streamHighWaterBytes)) {
    throw new RangeError('streamLowWaterBytes must not exceed streamHighWaterBytes');
  }
  if (!(resolved.streamHighWaterBytes < resolved.streamBufferBytesMax)) {
    throw new RangeError('streamBufferBytesMax must exceed streamHighWaterBytes');
  }
  return resolved;
}
