/**
 * Broker and result-backend factories by URL scheme. Each broker module (`errand/redis`,
 * `errand/sqlite`, `errand/amqp`, …) registers its own schemes when it loads; the core imports
 * none of them statically. A built-in scheme not registered yet loads its module on first use
 * (a dynamic import), so `new Errand({ broker: 'redis://…' })` works without importing
 * `errand/redis`, and a client library (an optional peer) loads only when its scheme is used.
 */
import { ErrandConfigError } from './errors.ts';
import type { ResolvedOptions } from './options.ts';
import type { Broker, ResultBackend } from './port.ts';

/** What a broker factory opens: the broker, and its own result store when it has one. */
export interface OpenedBroker {
  readonly broker: Broker;
  /** Absent for brokers without a store of their own (RabbitMQ, SQS): results need a `backend` URL. */
  readonly backend?: ResultBackend;
}

export type BrokerFactory = (url: string, options: ResolvedOptions) => OpenedBroker | Promise<OpenedBroker>;
export type BackendFactory = (
  url: string,
  options: ResolvedOptions,
) => ResultBackend | Promise<ResultBackend>;

/** The built-in modules, by scheme (without the colon); loading one registers its schemes. */
interface BuiltIn {
  readonly load: () => Promise<unknown>;
  /** Whether the module opens brokers of this scheme (else results only). */
  readonly broker: boolean;
  /** Whether it opens result backends of this scheme. */
  readonly backend: boolean;
}
const redis: BuiltIn = {
  load: () => import('./redis-loader.ts').then((m) => m.importRedisBroker()),
  broker: true,
  backend: true,
};
const amqp: BuiltIn = {
  load: () => import('../brokers/amqp/load.ts').then((m) => m.importAmqpBroker()),
  broker: true,
  backend: false,
};
const postgres: BuiltIn = {
  load: () => import('../brokers/postgres/load.ts').then((m) => m.importPostgresBackend()),
  broker: false,
  backend: true,
};
const BUILT_IN: Readonly<Record<string, BuiltIn>> = {
  redis,
  rediss: redis,
  sqlite: { load: () => import('../brokers/sqlite/index.ts'), broker: true, backend: true },
  memory: { load: () => import('../brokers/memory/index.ts'), broker: true, backend: true },
  amqp,
  amqps: amqp,
  sqs: {
    load: () => import('../brokers/sqs/load.ts').then((m) => m.importSqsBroker()),
    broker: true,
    backend: false,
  },
  memcached: { load: () => import('../brokers/memcached/index.ts'), broker: false, backend: true },
  postgres: postgres,
  postgresql: postgres,
};

const brokers = new Map<string, BrokerFactory>();
const backends = new Map<string, BackendFactory>();

const schemeName = (scheme: string): string => scheme.replace(/:$/, '').toLowerCase();

/** The scheme of a URL without its colon (`redis` for `redis://h:6379`), or undefined. */
export function schemeOf(url: string): string | undefined {
  const match = /^([a-z][a-z0-9+.-]*):/i.exec(url);
  return match ? match[1]!.toLowerCase() : undefined;
}

export function registerBroker(schemes: readonly string[], factory: BrokerFactory): void {
  for (const scheme of schemes) brokers.set(schemeName(scheme), factory);
}

export function registerBackend(schemes: readonly string[], factory: BackendFactory): void {
  for (const scheme of schemes) backends.set(schemeName(scheme), factory);
}

/** Every scheme a broker URL may have: the built-in ones and those registered. */
export function knownBrokerSchemes(): string[] {
  const builtIn = Object.keys(BUILT_IN).filter((s) => BUILT_IN[s]!.broker);
  return [...new Set([...builtIn, ...brokers.keys()])].sort();
}

/** Every scheme a backend URL may have (the built-in brokers' modules register their stores). */
export function knownBackendSchemes(): string[] {
  const builtIn = Object.keys(BUILT_IN).filter((s) => BUILT_IN[s]!.backend);
  return [...new Set([...builtIn, ...backends.keys()])].sort();
}

/** Whether a broker URL's scheme is one Errand can open (used by config validation). */
export function isKnownBrokerUrl(url: string): boolean {
  const scheme = schemeOf(url);
  return scheme !== undefined && knownBrokerSchemes().includes(scheme);
}

/** Whether a backend URL's scheme is one Errand can open (used by config validation). */
export function isKnownBackendUrl(url: string): boolean {
  const scheme = schemeOf(url);
  return scheme !== undefined && knownBackendSchemes().includes(scheme);
}

const listed = (schemes: readonly string[]): string => schemes.map((s) => `${s}:`).join(', ');

async function loadScheme(scheme: string | undefined): Promise<void> {
  const builtIn = scheme === undefined ? undefined : BUILT_IN[scheme];
  if (builtIn && !brokers.has(scheme!) && !backends.has(scheme!)) await builtIn.load();
}

export async function openBroker(url: string, options: ResolvedOptions): Promise<OpenedBroker> {
  const scheme = schemeOf(url);
  await loadScheme(scheme);
  const factory = scheme === undefined ? undefined : brokers.get(scheme);
  if (!factory) {
    throw new ErrandConfigError(
      'broker',
      `unsupported URL ${JSON.stringify(url)}: known schemes are ${listed(knownBrokerSchemes())} (a broker module registers more with registerBroker)`,
    );
  }
  return factory(url, options);
}

export async function openBackend(url: string, options: ResolvedOptions): Promise<ResultBackend> {
  const scheme = schemeOf(url);
  await loadScheme(scheme);
  const factory = scheme === undefined ? undefined : backends.get(scheme);
  if (!factory) {
    throw new ErrandConfigError(
      'backend',
      `unsupported URL ${JSON.stringify(url)}: known schemes are ${listed(knownBackendSchemes())} (a module registers more with registerBackend)`,
    );
  }
  return factory(url, options);
}
