/**
 * Tracing hooks on node:diagnostics_channel, for an OpenTelemetry integration (or any tracer)
 * without a dependency: `errand:enqueue`, `errand:start`, `errand:finish`, `errand:fail`,
 * `errand:retry`. A subscriber of `errand:enqueue` may write trace context (W3C `traceparent`,
 * `tracestate`) into the event's `carrier`; it travels in the message's optional `trace` field,
 * and `errand:start` hands it back so the task's span joins the sender's trace. Publishing costs
 * one `hasSubscribers` check when nobody listens. See docs/operations.md.
 */
import { channel } from 'node:diagnostics_channel';
import type { TaskMessage } from '../core/message.ts';

export const enqueueChannel = channel('errand:enqueue');
export const startChannel = channel('errand:start');
export const finishChannel = channel('errand:finish');
export const failChannel = channel('errand:fail');
export const retryChannel = channel('errand:retry');

export interface EnqueueTraceEvent {
  readonly id: string;
  readonly task: string;
  readonly queue: string;
  /** Write trace context here (string values); it is sent with the message as `trace`. */
  readonly carrier: Record<string, string>;
}

export interface TaskTraceEvent {
  readonly id: string;
  readonly task: string;
  readonly queue: string;
  readonly attempt: number;
  readonly message: TaskMessage;
  /** The sender's trace context, when it sent one. */
  readonly trace: Readonly<Record<string, string>> | undefined;
}

/** Publishes errand:enqueue; returns the trace context subscribers wrote, if any. */
export function traceEnqueue(id: string, task: string, queue: string): Record<string, string> | undefined {
  if (!enqueueChannel.hasSubscribers) return undefined;
  const event: EnqueueTraceEvent = { id, task, queue, carrier: {} };
  enqueueChannel.publish(event);
  const entries = Object.entries(event.carrier).filter(([, v]) => typeof v === 'string');
  return entries.length > 0 ? Object.fromEntries(entries) : undefined;
}

const OUTCOME_CHANNELS = {
  completed: finishChannel,
  failed: failChannel,
  cancelled: failChannel,
  retrying: retryChannel,
} as const;

/** Publishes errand:finish / fail / retry for a worker event (others are not traced). */
export function traceOutcome(event: string, payload: object): void {
  const ch = OUTCOME_CHANNELS[event as keyof typeof OUTCOME_CHANNELS];
  if (ch?.hasSubscribers) ch.publish(payload);
}

export function traceStart(message: TaskMessage, queue: string): void {
  if (!startChannel.hasSubscribers) return;
  const event: TaskTraceEvent = {
    id: message.id,
    task: message.task,
    queue,
    attempt: message.attempt + 1,
    message,
    trace: message.trace,
  };
  startChannel.publish(event);
}
