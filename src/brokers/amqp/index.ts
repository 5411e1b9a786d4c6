/**
 * RabbitMQ broker for Errand (`amqp://user:pass@host:port/vhost`, `amqps://…`), on amqplib.
 * RabbitMQ keeps no results: give Errand a `backend` URL (Redis, SQLite, …). See docs/brokers.md.
 */
import type { Broker } from '../../core/port.ts';
import { registerBroker } from '../../core/registry.ts';
import { AmqpBroker } from './broker.ts';
import { AmqpConnection } from './connection.ts';

export { AmqpBroker, type AmqpBrokerOptions } from './broker.ts';
export { AmqpConnection } from './connection.ts';

export interface OpenAmqpOptions {
  readonly prefix: string;
  readonly maxDeliveries: number;
  readonly onError?: (err: Error) => void;
}

export function openAmqp(url: string, options: OpenAmqpOptions): Broker {
  return new AmqpBroker(new AmqpConnection(url, options.onError), options);
}

registerBroker(['amqp', 'amqps'], (url, options) => ({
  broker: openAmqp(url, {
    prefix: options.prefix,
    maxDeliveries: options.maxDeliveries,
    onError: (err) => options.logger.debug(`amqp connection: ${err.message}`),
  }),
}));
