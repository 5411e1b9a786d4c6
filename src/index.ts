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
  GroupsUnsupportedError,
  LeaseLostError,
  PipelineStepError,
  ResultTimeoutError,
  RetryLater,
  ShutdownError,
  TaskCancelledError,
  TaskFailedError,
  TaskTimeoutError,
  UnsupportedOperationError,
} from './core/errors.ts';
export type { Json, JsonChecked, JsonProblem } from './core/json.ts';
export {
  type DecodeResult,
  jsonCodec,
  LINKS_WIRE_VERSION,
  type MessageCodec,
  type TaskMessage,
  toMessage,
  WIRE_VERSION,
} from './core/message.ts';
export type { ErrandOptions, Logger, QueueConfig, SendOptions, TaskOptions } from './core/options.ts';
export type {
  Broker,
  BrokerCapabilities,
  ClaimedLease,
  ClaimedLeases,
  DeadLetter,
  EnqueueEntry,
  GroupCounter,
  GroupStatus,
  LeasedMessage,
  ListableState,
  ListedMessage,
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
export type { CancelOutcome, TaskListOptions, TaskListState, TaskView } from './ops/control.ts';
export { Metrics } from './ops/metrics.ts';
export type {
  Accepting,
  Composite,
  Flow,
  Mode,
  Signature,
  SignatureOptions,
  WaitOptions,
  WorkflowHandle,
} from './workflow/flow.ts';
export {
  type ArgsMap,
  type Pipeline,
  type PipelineLog,
  type PipelineRun,
  type PipelineStep,
  type ReentrantOptions,
  type ReentrantStep,
  reentrant,
  type Step,
  type StepLog,
} from './workflow/pipeline.ts';
export type { GroupLink, Link, Links, Membership, TaskLink } from './workflow/wire.ts';
export type { GroupOut, WorkflowNodeState, WorkflowState } from './workflow/workflows.ts';
