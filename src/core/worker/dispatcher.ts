/**
 * From a leased message to a running handler and back: admits each leased message (in lease
 * order, at most `concurrency` handlers, at most a batch per settle: MIN_STARTS_PER_BATCH),
 * starts waiting ones as handlers free or once the settler has sent its batch, and frees a
 * message's slot when its run ends.
 */
import type { LeasedMessage } from '../port.ts';
import { Cancellation } from './cancellation.ts';
import type { Execution, RunEnded } from './execution.ts';
import type { HandlerQueue } from './handlers.ts';
import type { Slots } from './slots.ts';

export interface DispatcherHooks {
  /** Every leased message the worker holds (shared with the worker's heartbeat and cancels). */
  readonly running: Set<Execution>;
  readonly slots: Slots;
  readonly handlers: HandlerQueue;
  /** Queues paused by an operator: a waiting message of one goes back instead of starting. */
  readonly paused: ReadonlySet<string>;
  /** Most messages leased ahead (the worker's prefetch). */
  readonly prefetch: number;
  /** Decodes the message into the execution (the executor's `prepare`). */
  prepare(execution: Execution): void;
  /** Runs the execution's handler and concludes it (the executor's `run`). */
  run(execution: Execution, ended: RunEnded): void;
  /** True when a message leased now must go straight back (the worker is stopping). */
  refusing(): boolean;
  /** Hands a leased message that will not start back to the broker. */
  handBack(queue: string, leased: LeasedMessage): void;
  /** Asks the settler to send its batch soon (it then calls `sent`). */
  requestSend(): void;
  reportError(err: Error): void;
  /** A run ended: the worker's idle waiters look again. */
  onEnded(): void;
}

export class Dispatcher {
  /** Starts wait for the settler's send (the batch is full): `sent` resumes them. */
  private startsDeferred = false;

  constructor(private readonly hooks: DispatcherHooks) {}

  /** Called with a slot already taken for this message (by the fetch loop or a settle refill). */
  dispatch(queue: string, leased: LeasedMessage): void {
    const { slots, handlers, running } = this.hooks;
    if (this.hooks.refusing()) {
      // Leased after the drain began, with no free slot to run it: give it straight back.
      slots.give();
      this.hooks.handBack(queue, leased);
      return;
    }
    const execution: Execution = {
      queue,
      leased,
      cancellation: new Cancellation(),
      released: false,
      concluding: false,
      slotHeld: true,
      handlerStartedAt: undefined,
    };
    this.hooks.prepare(execution);
    running.add(execution);
    if (handlers.admit(execution)) this.start(execution);
    // Waiting with a handler free: for the settler's send (startWaiting defers, then resumes).
    else if (!handlers.full) this.startWaiting();
  }

  /** The settler sent its batch: a new one begins, and deferred starts go ahead. */
  sent(): void {
    this.hooks.handlers.batchSent();
    if (this.startsDeferred) {
      this.startsDeferred = false;
      this.startWaiting();
    }
  }

  /** A handler is done (or will not run): another may start. */
  handlerDone(execution: Execution): void {
    const { handlers, slots } = this.hooks;
    if (!handlers.finish(execution)) return;
    slots.leaseAhead(handlers.ahead(this.hooks.prefetch));
    this.startWaiting();
  }

  /** Takes every waiting message out of the worker (a stopping worker hands them back). */
  releaseWaiting(): Execution[] {
    const waiting = this.hooks.handlers.takeAll();
    for (const execution of waiting) this.dropUnstarted(execution);
    return waiting;
  }

  private start(execution: Execution): void {
    this.hooks.run(execution, (failure) => {
      if (failure) {
        const { error } = failure;
        this.hooks.reportError(error instanceof Error ? error : new Error(String(error)));
      }
      this.ended(execution);
    });
  }

  /** Waiting messages start as handlers free, up to a batch per settle. */
  private startWaiting(): void {
    const { handlers, paused } = this.hooks;
    while (!handlers.full && handlers.waitingCount > 0) {
      if (handlers.batchFull) {
        // Resumed by `sent`, once the settler has sent what the started ones decided.
        if (!this.startsDeferred) {
          this.startsDeferred = true;
          this.hooks.requestSend();
        }
        return;
      }
      const next = handlers.next()!;
      // A message leased ahead for a queue paused since goes back instead of running.
      if (paused.has(next.queue)) {
        this.dropUnstarted(next);
        this.hooks.handBack(next.queue, next.leased);
        continue;
      }
      handlers.begin(next);
      this.start(next);
    }
  }

  private ended(execution: Execution): void {
    this.handlerDone(execution);
    this.hooks.running.delete(execution);
    // Unless a settle refill took the slot over for the message it leased.
    if (execution.slotHeld) {
      execution.slotHeld = false;
      this.hooks.slots.give();
    }
    this.hooks.onEnded();
  }

  /** A leased message that will not start here: out of the worker, its slot free. */
  private dropUnstarted(execution: Execution): void {
    this.hooks.running.delete(execution);
    execution.slotHeld = false;
    this.hooks.slots.give();
  }
}
