/** RabbitMQ for tests: the server on this machine (ERRAND_TEST_AMQP overrides), and clean-up of test queues. */
import { execFileSync } from 'node:child_process';
import amqp from 'amqplib';

export const AMQP_URL = process.env.ERRAND_TEST_AMQP ?? 'amqp://guest:guest@127.0.0.1:5672';

/** Deletes every queue whose name starts with `prefix.` (queues, dead letters, delay queues). */
export async function deleteAmqpQueues(prefix: string): Promise<void> {
  const names = execFileSync('rabbitmqctl', ['-q', 'list_queues', 'name'], { encoding: 'utf8' })
    .split('\n')
    .map((line) => line.trim())
    .filter((name) => name.startsWith(`${prefix}.`));
  if (names.length === 0) return;
  const connection = await amqp.connect(AMQP_URL);
  try {
    const channel = await connection.createChannel();
    for (const name of names) await channel.deleteQueue(name);
  } finally {
    await connection.close();
  }
}
