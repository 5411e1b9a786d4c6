/** The error script: Gordon's temp-file convention and its logged problems (as in Gordon's output tests). */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { ErrorNotifier } from '../src/daemon/error-script.ts';
import { Logger } from '../src/daemon/logger.ts';
import { tempDir } from './fixtures/daemon/harness.ts';

async function notifyWith(program: string, mode: 'file' | 'argv', tmp = tempDir('notify')) {
  const logfile = join(tempDir('notify-log'), 'log.jsonl');
  const log = new Logger({ format: 'json', verbose: true, file: logfile });
  const notifier = new ErrorNotifier({ program, mode }, tmp, log);
  notifier.notify('first line\nsecond line\n');
  await notifier.idle(AbortSignal.timeout(5000));
  log.close();
  const lines = readFileSync(logfile, 'utf8')
    .trim()
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as Record<string, string>);
  return { lines, tmp };
}

void describe('ErrorNotifier', () => {
  void it('/bin/true: no log line, and the temp file is removed', async () => {
    const { lines, tmp } = await notifyWith('/bin/true', 'file');
    assert.deepEqual(lines, []);
    assert.deepEqual(readdirSync(tmp), []);
  });

  void it('/bin/cat: the script "created output" (the temp file content) and that is logged', async () => {
    const { lines } = await notifyWith('/bin/cat', 'file');
    assert.equal(lines.length, 1);
    assert.equal(lines[0]?.msg, 'Failed calling ErrorScript (created output)');
    assert.equal(lines[0]?.output, 'first line\nsecond line\n');
  });

  void it('argv mode passes the text itself (/bin/echo prints it back)', async () => {
    const { lines } = await notifyWith('/bin/echo', 'argv');
    assert.equal(lines[0]?.output, 'first line\nsecond line\n\n');
  });

  void it('a failing or missing script is logged with its error', async () => {
    const failing = await notifyWith('/bin/false', 'file');
    assert.equal(failing.lines[0]?.msg, 'Failed calling ErrorScript');
    assert.equal(failing.lines[0]?.error, 'exit status 1');
    const missing = await notifyWith('/nonexistent/script', 'argv');
    assert.equal(missing.lines[0]?.error, 'fork/exec /nonexistent/script: no such file or directory');
  });

  void it('an unwritable temp_dir is logged and the script is skipped', async () => {
    const { lines } = await notifyWith('/bin/true', 'file', '/nonexistent/dir');
    assert.equal(lines[0]?.msg, 'Failed writing temporary file');
  });
});
