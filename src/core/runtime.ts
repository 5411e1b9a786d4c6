/**
 * What workers and helpers inside the core need from an Errand. Its own module so that the
 * facade (errand.ts) imports the worker and dead letters, and nothing imports the facade back.
 */
import type { MessageCodec } from './message.ts';
import type { ResolvedOptions } from './options.ts';
import type { Stores } from './resolve.ts';
import type { TaskDefinition } from './task.ts';

export interface Runtime {
  readonly options: ResolvedOptions;
  stores(): Promise<Stores>;
  definition(name: string): TaskDefinition<unknown[], unknown> | undefined;
  taskNames(): string[];
  codec(queue: string): MessageCodec;
  queueOf(definition: TaskDefinition<unknown[], unknown>): string;
}
