// One virtual timeline for a whole simulated cluster (TigerBeetle's VOPR,
// FoundationDB's simulation): every timer of every node and every network
// delivery is an event in one min-heap ordered by (time, insertion sequence),
// so a seed replays the same order of everything.
//
// Events may belong to an *owner* (a simulated host's process). An owner can
// be frozen (SIGSTOP: its events wait and fire at thaw in their original
// order) or destroyed (a crash: its events are cancelled forever). A node's
// clock is an OwnedClock, whose setTimeout/clearTimeout pair is also XState's
// `clock` actor option, so machine timers freeze and crash with their host.
//
// A multicast's copies are one entry too (an EventSeries, sim/flight.ts): it
// re-keys itself to its next copy's arrival after each one, instead of an
// event and two closures per copy.

import v8 from 'node:v8';
import type { Clock, TimerId } from '../lib/clock.ts';
import { MinHeap } from './heap.ts';

/** Node's setTimeout bound: longer (or NaN, or < 1) delays become 1 ms. */
const TIMEOUT_MS_MAX = 2 ** 31 - 1;

/** Compact the heap once this many cancelled events sit in it (and they are over half of it). */
const CANCELLED_COMPACT_MIN = 1024;

type EventState = 'queued' | 'parked' | 'done' | 'cancelled';

/** One process's events: a restarted host gets a fresh incarnation under the same name. */
class Owner {
  frozen = false;
  destroyed = false;
  /** Events not yet run or cancelled, so that destroy() can cancel them all. */
  readonly pending = new Set<ScheduledEvent>();
  /** Events that came due while frozen, in the order they came due. */
  parked: ScheduledEvent[] = [];

  constructor(readonly name: string) {}
}

/** A handle on one scheduled callback; also the TimerId of an OwnedClock. */
export class ScheduledEvent {
  /** @internal */ state: EventState = 'queued';

  /** @internal Only the Scheduler makes events; the fields are its bookkeeping. */
  constructor(
    public time: number,
    public seq: number,
    public callback: (() => void) | undefined,
    readonly owner: Owner | undefined,
    readonly onHold: (() => boolean) | undefined,
  ) {}

  /** Virtual ms at which it runs (its thaw time, if it waited for one). */
  get timeMs(): number {
    return this.time;
  }

  /** Still going to run. */
  get pending(): boolean {
    return this.state === 'queued' || this.state === 'parked';
  }
}

/**
 * Several steps at non-decreasing virtual times as ONE heap entry (sim/flight.ts:
 * a multicast datagram's copies in arrival order). After each step it re-keys
 * itself to the next step's time and sinks in place: one sift-down instead of
 * a pop and a push per step, and no event object or closure per step. Ties:
 * the series keeps the sequence number it was added with; its own steps go
 * in their order. Steps may have different owners, so a series answers for
 * them itself: a step for a frozen owner goes to hold(), one for a destroyed
 * owner is skipped.
 */
export abstract class EventSeries {
  /** @internal */ time = 0;
  /** @internal */ seq = 0;
  /** @internal */ state: EventState = 'queued';
  /** The step due at `time`. */
  step = 0;
  /** Steps in the series; set before Scheduler.addSeries(). */
  steps = 0;

  /** Virtual ms of step `step` (never earlier than the step before). */
  abstract timeOf(step: number): number;

  /** Run step `step`; true when it ran as an event (counted, onEvent called). */
  abstract fire(step: number): boolean;

  /** The owner of step `step`, for SimulationError. */
  abstract ownerNameOf(step: number): string | undefined;
}

/** What the heap holds, ordered by (time, seq): sequences are unique, so the order is total. */
type TimelineEntry = ScheduledEvent | EventSeries;

/** An exception thrown by an event's callback, with the virtual time it happened at. */
export class SimulationError extends Error {
  constructor(
    readonly timeMs: number,
    readonly owner: string | undefined,
    cause: unknown,
  ) {
    const what = cause instanceof Error ? cause.message : String(cause);
    super(`at t=${timeMs} ms${owner === undefined ? '' : ` on ${owner}`}: ${what}`, { cause });
    this.name = 'SimulationError';
  }
}

/**
 * Whose event it is: a name means that owner's current process; an
 * OwnedClock means exactly that process, so events meant for a crashed
 * incarnation never reach the restarted one.
 */
export type EventOwner = string | OwnedClock;

export interface RunOptions {
  /** Called after every event that ran: where the cluster's checkers hook in. */
  onEvent?: () => void;
}

export interface RunUntilIdleOptions extends RunOptions {
  /** Stop after this much virtual time even if events remain (periodic timers never idle). */
  limitMs?: number;
}

export interface SchedulerOptions {
  /**
   * When the microtask queue is drained (a macrotask turn) before time
   * advances, so that code continuing after an `await` runs at the virtual
   * instant its promise settled. 'always': whenever time advances (microseconds
   * per instant). 'when-settled' (default): only if something may have queued
   * a microtask since the last drain: a promise created or settled, or a
   * queueMicrotask / process.nextTick call (watched process-wide). Both give
   * the same timeline; 'when-settled' falls back to 'always' without
   * v8.promiseHooks. Not seen: resolve(p) with a promise p from event code
   * that creates no promise itself (chanmesh does not).
   */
  drain?: 'always' | 'when-settled';
  /**
   * Events allowed at one virtual instant before runUntil throws: a callback
   * that re-schedules itself with no delay would otherwise spin forever
   * without time advancing. Default 1,000,000.
   */
  eventsPerInstantMax?: number;
}

export interface SchedulerStats {
  /** Virtual ms now. */
  nowMs: number;
  /** Entries added to the timeline: a multicast flight of many copies counts once. */
  eventsScheduled: number;
  /** Events that ran: every step of a series that ran (a datagram copy) counts. */
  eventsRun: number;
  eventsCancelled: number;
  /** Events that came due while their owner was frozen (held or dropped). */
  eventsHeld: number;
  /** Held events an owner's onHold refused (e.g. a full receive buffer). */
  eventsDroppedWhileFrozen: number;
  /** Entries in the heap, cancelled ones not yet compacted away included. */
  heapSize: number;
  /** Events waiting for their frozen owner's thaw. */
  parked: number;
  /** Times the microtask queue was drained before time advanced. */
  microtaskFlushes: number;
}

/**
 * Set when a microtask may have been queued since the last drain. Promise
 * hooks are process-wide, so is this; starting true makes the first drain
 * unconditional.
 */
let microtaskMayBeQueued = true;
let watchingMicrotasks = false;

/**
 * Watch, once per process, everything that queues a microtask from event
 * code: a promise reaction is queued when a promise settles or when `then` /
 * `await` meets an already settled one, and either creates a promise (init);
 * queueMicrotask (lib/node/connection-writer.ts flushes with it) and
 * process.nextTick are reported by no hook, so they are wrapped. False when
 * this Node has no promise hooks.
 */
function watchMicrotasks(): boolean {
  if (watchingMicrotasks) return true;
  const hooks = v8.promiseHooks as typeof v8.promiseHooks | undefined;
  if (hooks === undefined) return false;
  const queued = (): void => {
    microtaskMayBeQueued = true;
  };
  hooks.onInit(queued);
  hooks.onSettled(queued);
  const queueMicrotask = globalThis.queueMicrotask;
  globalThis.queueMicrotask = (callback) => {
    microtaskMayBeQueued = true;
    queueMicrotask(callback);
  };
  const nextTick = process.nextTick;
  process.nextTick = (callback: (...args: never[]) => void, ...args: never[]): void => {
    microtaskMayBeQueued = true;
    nextTick(callback, ...args);
  };
  watchingMicrotasks = true;
  return true;
}

/**
 * One macrotask turn: every microtask queued so far runs first, and so does
 * every microtask those queue (the queue is run until empty before any
 * immediate). The flag is cleared at the end of the turn, after this drain's
 * own resolve(), so it reports only what was queued after the turn.
 */
function drainMicrotasks(): Promise<void> {
  return new Promise((resolve) => {
    setImmediate(() => {
      resolve();
      microtaskMayBeQueued = false;
    });
  });
}

export class Scheduler {
  private currentTime = 0;
  private nextSeq = 0;
  /** Thawed events go before everything else at the thaw instant: counting down keeps them in order. */
  private nextThawSeq = -1;
  private readonly heap = new MinHeap<TimelineEntry>();
  private cancelledInHeap = 0;
  private readonly owners = new Map<string, Owner>();
  private running = false;
  private readonly eventsPerInstantMax: number;
  private eventsThisInstant = 0;
  private readonly drainAlways: boolean;
  private readonly counts = {
    eventsScheduled: 0,
    eventsRun: 0,
    eventsCancelled: 0,
    eventsHeld: 0,
    eventsDroppedWhileFrozen: 0,
    microtaskFlushes: 0,
  };

  constructor(options: SchedulerOptions = {}) {
    this.eventsPerInstantMax = options.eventsPerInstantMax ?? 1_000_000;
    this.drainAlways = options.drain === 'always' || !watchMicrotasks();
  }

  /** Virtual milliseconds since the simulation began. */
  now(): number {
    return this.currentTime;
  }

  /**
   * Run `callback` at virtual `timeMs` (>= now). With an owner, the event
   * waits while the owner is frozen and vanishes if it is destroyed (an event
   * for an already destroyed owner is never run). `onHold` is asked when the
   * event comes due while its owner is frozen: returning false drops it
   * instead of holding it, which is how a bounded receive buffer overflows.
   */
  at(timeMs: number, callback: () => void, owner?: EventOwner, onHold?: () => boolean): ScheduledEvent {
    if (!(timeMs >= this.currentTime)) {
      throw new RangeError(`cannot schedule at ${timeMs} ms: now is ${this.currentTime} ms, time never goes backwards`);
    }
    return this.schedule(timeMs, callback, this.ownerOf(owner), onHold);
  }

  /** Run `callback` `delayMs` (>= 0) from now; see at(). */
  after(delayMs: number, callback: () => void, owner?: EventOwner, onHold?: () => boolean): ScheduledEvent {
    if (!(delayMs >= 0)) throw new RangeError(`delay must be >= 0 ms, got ${delayMs}`);
    return this.at(this.currentTime + delayMs, callback, owner, onHold);
  }

  /** Cancel a pending event; cancelling twice or after it ran does nothing. */
  cancel(event: ScheduledEvent): void {
    if (event.state === 'queued') this.cancelledInHeap++;
    else if (event.state !== 'parked') return;
    event.state = 'cancelled';
    event.callback = undefined; // free the closure now, not when the heap reaches it
    event.owner?.pending.delete(event);
    this.counts.eventsCancelled++;
    this.compactIfWasteful();
  }

  /** Add a series whose `steps` and first step's time are set; see EventSeries. */
  addSeries(series: EventSeries): void {
    const time = series.timeOf(series.step);
    if (!(series.steps > series.step && time >= this.currentTime)) {
      throw new RangeError(`cannot add a series at ${time} ms with ${series.steps} steps: now is ${this.currentTime} ms`);
    }
    series.time = time;
    series.seq = this.nextSeq++;
    series.state = 'queued';
    this.heap.push(series, time, series.seq);
    this.counts.eventsScheduled++;
  }

  /**
   * A series' step came due while the owner of `clock` is frozen: hold
   * `callback` as an event for the thaw, like an event of that owner, unless
   * `onHold` refuses (see at()).
   */
  hold(clock: OwnedClock, callback: () => void, onHold?: () => boolean): void {
    const event = new ScheduledEvent(this.currentTime, this.nextSeq++, callback, clock.ownerState, onHold);
    this.counts.eventsScheduled++;
    clock.ownerState.pending.add(event);
    this.park(event);
  }

  /**
   * The clock of `owner`'s current process. After destroy(owner) this starts
   * a fresh incarnation (a restarted host): the old clock stays dead.
   */
  clockFor(owner: string): OwnedClock {
    let state = this.owners.get(owner);
    if (state === undefined || state.destroyed) {
      state = new Owner(owner);
      this.owners.set(owner, state);
    }
    return new OwnedClock(this, state);
  }

  /** Hold `owner`'s events until thaw (SIGSTOP). Nothing for a destroyed owner. */
  freeze(owner: string): void {
    this.freezeOwner(this.currentOwner(owner));
  }

  /** Release `owner`'s held events at the current time, in their original order. */
  thaw(owner: string): void {
    this.thawOwner(this.currentOwner(owner));
  }

  /** Cancel all of `owner`'s events for ever (a crash); returns how many were cancelled. */
  destroy(owner: string): number {
    return this.destroyOwner(this.currentOwner(owner));
  }

  isFrozen(owner: string): boolean {
    return this.owners.get(owner)?.frozen ?? false;
  }

  isDestroyed(owner: string): boolean {
    return this.owners.get(owner)?.destroyed ?? false;
  }

  /**
   * Run every event up to and including virtual `timeMs`, then leave the
   * clock at `timeMs`. Before time moves to a later instant the microtask
   * queue is drained (one macrotask turn; see SchedulerOptions.drain), so
   * that node code continuing after an `await` runs at the virtual time its
   * promise settled, and can still schedule events at that instant. Callback
   * exceptions come out as a SimulationError carrying the virtual time.
   */
  async runUntil(timeMs: number, options: RunOptions = {}): Promise<void> {
    await this.run(Math.max(timeMs, this.currentTime), options);
  }

  /** runUntil(now + durationMs). */
  async runFor(durationMs: number, options: RunOptions = {}): Promise<void> {
    await this.runUntil(this.currentTime + durationMs, options);
  }

  /**
   * Run until no event remains, or until `limitMs` (default one virtual hour)
   * has passed. Returns true when the timeline went idle.
   */
  async runUntilIdle(options: RunUntilIdleOptions = {}): Promise<boolean> {
    const limit = this.currentTime + (options.limitMs ?? 3_600_000);
    return this.run(limit, options, true);
  }

  stats(): SchedulerStats {
    let parked = 0;
    for (const owner of this.owners.values()) parked += owner.parked.length;
    return { nowMs: this.currentTime, ...this.counts, heapSize: this.heap.size, parked };
  }

  /** @internal */
  schedule(time: number, callback: () => void, owner: Owner | undefined, onHold?: () => boolean): ScheduledEvent {
    const event = new ScheduledEvent(time, this.nextSeq++, callback, owner, onHold);
    if (owner?.destroyed === true) {
      event.state = 'cancelled'; // a dead process schedules nothing
      return event;
    }
    owner?.pending.add(event);
    this.heap.push(event, time, event.seq);
    this.counts.eventsScheduled++;
    return event;
  }

  /** @internal */
  freezeOwner(owner: Owner): void {
    if (!owner.destroyed) owner.frozen = true;
  }

  /** @internal */
  thawOwner(owner: Owner): void {
    if (!owner.frozen) return;
    owner.frozen = false;
    const parked = owner.parked.filter((event) => event.state === 'parked');
    owner.parked = [];
    // Sequences below every normal one put the held events first at this
    // instant; assigning them backwards keeps their own original order.
    this.nextThawSeq -= parked.length;
    let seq = this.nextThawSeq + 1;
    for (const event of parked) {
      event.time = this.currentTime;
      event.seq = seq++;
      event.state = 'queued';
      this.heap.push(event, event.time, event.seq);
    }
  }

  /** @internal */
  destroyOwner(owner: Owner): number {
    if (owner.destroyed) return 0;
    owner.destroyed = true;
    owner.frozen = false;
    const victims = [...owner.pending];
    for (const event of victims) this.cancel(event);
    owner.parked = [];
    return victims.length;
  }

  private ownerOf(owner: EventOwner | undefined): Owner | undefined {
    if (owner === undefined) return undefined;
    return typeof owner === 'string' ? this.currentOwner(owner) : owner.ownerState;
  }

  /** The live incarnation of `name`, created on first use; a destroyed one is returned as it is. */
  private currentOwner(name: string): Owner {
    let state = this.owners.get(name);
    if (state === undefined) {
      state = new Owner(name);
      this.owners.set(name, state);
    }
    return state;
  }

  private async run(limit: number, options: RunOptions, untilIdle = false): Promise<boolean> {
    if (this.running) throw new Error('Scheduler.run* is already running: one timeline, one driver');
    this.running = true;
    this.eventsThisInstant = 0;
    try {
      let drained = false;
      for (;;) {
        const stop = this.runDue(limit, untilIdle, options.onEvent, drained);
        if (stop !== 'drain') return stop === 'idle';
        await drainMicrotasks();
        this.counts.microtaskFlushes++;
        drained = true;
      }
    } finally {
      this.running = false;
    }
  }

  /**
   * Run events in order, advancing time, until the timeline is idle, the
   * next event is past `limit`, or time is about to move while microtasks
   * may be queued (with drain 'always': unless `drained` just now): then the
   * caller drains them, so that promise continuations of this instant run at
   * it and may still add events now, and calls again. Synchronous, so that
   * the loop every event goes through is plain optimized code, not a
   * resumable async function.
   */
  private runDue(
    limit: number,
    untilIdle: boolean,
    onEvent: (() => void) | undefined,
    drained: boolean,
  ): 'drain' | 'idle' | 'limit' {
    const heap = this.heap;
    for (;;) {
      const next = this.peekLive();
      const time = heap.topKey; // Infinity when idle
      if (time > this.currentTime) {
        if (microtaskMayBeQueued || (this.drainAlways && !drained)) return 'drain';
        if (next === undefined) {
          if (!untilIdle) this.currentTime = limit;
          return 'idle';
        }
        if (time > limit) {
          this.currentTime = limit;
          return 'limit';
        }
        this.currentTime = time;
        this.eventsThisInstant = 0;
      }
      drained = false;
      const entry = next as TimelineEntry;
      if (++this.eventsThisInstant > this.eventsPerInstantMax) {
        throw new SimulationError(
          this.currentTime,
          entry instanceof ScheduledEvent ? entry.owner?.name : entry.ownerNameOf(entry.step),
          new Error(`more than ${this.eventsPerInstantMax} events at one instant: a zero-delay loop`),
        );
      }
      if (entry instanceof ScheduledEvent) {
        heap.pop();
        if (this.runEvent(entry)) onEvent?.();
      } else if (this.runStep(entry)) {
        onEvent?.();
      }
    }
  }

  /** The earliest entry that is not cancelled, dropping cancelled ones on the way. */
  private peekLive(): TimelineEntry | undefined {
    for (;;) {
      const top = this.heap.peek();
      if (top === undefined || top.state === 'queued') return top;
      this.heap.pop();
      this.cancelledInHeap--;
    }
  }

  /** Run a popped event, or hold it for its frozen owner. Returns whether it ran. */
  private runEvent(event: ScheduledEvent): boolean {
    const owner = event.owner;
    if (owner?.frozen === true) {
      this.park(event);
      return false;
    }
    const callback = event.callback as () => void;
    event.state = 'done';
    event.callback = undefined;
    owner?.pending.delete(event);
    this.counts.eventsRun++;
    try {
      callback();
    } catch (error) {
      throw new SimulationError(this.currentTime, owner?.name, error);
    }
    return true;
  }

  /**
   * Run the due step of the series on top of the heap. The series is re-keyed
   * to its next step (or removed) first, so that whatever the step schedules
   * finds the heap in order.
   */
  private runStep(series: EventSeries): boolean {
    const step = series.step++;
    if (series.step < series.steps) {
      series.time = series.timeOf(series.step);
      this.heap.updateTop(series.time);
    } else {
      series.state = 'done';
      this.heap.pop();
    }
    let ran: boolean;
    try {
      ran = series.fire(step);
    } catch (error) {
      throw new SimulationError(this.currentTime, series.ownerNameOf(step), error);
    }
    if (ran) this.counts.eventsRun++;
    return ran;
  }

  /** An event came due while its owner is frozen: park it for the thaw, or drop it if its onHold refuses. */
  private park(event: ScheduledEvent): void {
    const owner = event.owner as Owner;
    this.counts.eventsHeld++;
    if (event.onHold !== undefined && !event.onHold()) {
      this.counts.eventsDroppedWhileFrozen++;
      event.state = 'cancelled';
      event.callback = undefined;
      owner.pending.delete(event);
      return;
    }
    event.state = 'parked';
    owner.parked.push(event);
  }

  /** Lazy cancellation must not leak: rebuild once the heap is mostly dead entries. */
  private compactIfWasteful(): void {
    if (this.cancelledInHeap < CANCELLED_COMPACT_MIN || this.cancelledInHeap * 2 < this.heap.size) return;
    this.heap.retain((entry) => entry.state === 'queued');
    this.cancelledInHeap = 0;
  }
}

/** A host process's Clock: its timers freeze, thaw and die with the host. */
export class OwnedClock implements Clock {
  /** @internal */
  constructor(
    private readonly scheduler: Scheduler,
    private readonly owner: Owner,
  ) {}

  /** @internal */
  get ownerState(): Owner {
    return this.owner;
  }

  get ownerName(): string {
    return this.owner.name;
  }

  now(): number {
    return this.scheduler.now();
  }

  // setTimeout/clearTimeout are bound properties, so that they still work
  // when handed around on their own (e.g. as the two halves of XState's clock).

  /** Like Node's: a delay below 1 ms, above 2^31-1 ms or NaN becomes 1 ms. */
  readonly setTimeout = (callback: () => void, ms: number): TimerId => {
    const delay = ms >= 1 && ms <= TIMEOUT_MS_MAX ? ms : 1;
    return this.scheduler.schedule(this.scheduler.now() + delay, callback, this.owner);
  };

  readonly clearTimeout = (id: TimerId): void => {
    // Ignore foreign ids, as clearTimeout ignores what it did not create.
    if (id instanceof ScheduledEvent && id.owner === this.owner) this.scheduler.cancel(id);
  };

  /** Hold this process's timers (SIGSTOP). */
  freeze(): void {
    this.scheduler.freezeOwner(this.owner);
  }

  /** Fire the timers that came due while frozen, now, in their original order. */
  thaw(): void {
    this.scheduler.thawOwner(this.owner);
  }

  /** Cancel every timer for ever and ignore later setTimeout calls (a crash). */
  destroy(): void {
    this.scheduler.destroyOwner(this.owner);
  }

  get frozen(): boolean {
    return this.owner.frozen;
  }

  get destroyed(): boolean {
    return this.owner.destroyed;
  }
}
