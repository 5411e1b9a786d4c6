/** Errand: background tasks for TypeScript on Node.js. */
export { type BackoffSpec, type BackoffType, backoffDelay } from './core/backoff.ts';
export { type TaskContext, taskContext } from './core/context.ts';
export type { DeadLetters, DeadLetterView } from './core/dead-letters.ts';
export { Errand } from './core/errand.ts';
export {
  BrokerUnavailableError,
  CapabilityUnsupportedError,
  DoNotRetry,
  ErrandConfigError,
  LeaseLostError,
  ResultTimeoutError,
  RetryLater,
  ShutdownError,
  TaskFailedError,
  TaskTimeoutError,
} from './core/errors.ts';
export type { Json, JsonChecked, JsonProblem } from './core/json.ts';
export {
  type DecodeResult,
  jsonCodec,
  type MessageCodec,
  type TaskMessage,
  toMessage,
  WIRE_VERSION,
} from './core/message.ts';
export type { ErrandOptions, Logger, QueueConfig, SendOptions, TaskOptions } from './core/options.ts';
export type {
  Broker,
  BrokerCapabilities,
  DeadLetter,
  EnqueueEntry,
  LeasedMessage,
  OptionalBrokerOperations,
  OptionalCapability,
  QueueStats,
  RequiredBrokerOperations,
  ResultBackend,
  SettleBatch,
  TaskErrorInfo,
  TaskRecord,
  TaskState,
} from './core/port.ts';
export { capabilityAbsence, OPTIONAL_CAPABILITIES, TASK_STATES } from './core/port.ts';
export {
  type BackendFactory,
  type BrokerFactory,
  knownBackendSchemes,
  knownBrokerSchemes,
  type OpenedBroker,
  registerBackend,
  registerBroker,
} from './core/registry.ts';
export type { Handler, ResultOptions, SentTask, Task } from './core/task.ts';
export type { WorkerEvents } from './core/worker/events.ts';
export type { Worker, WorkerOptions, WorkerState } from './core/worker/worker.ts';
