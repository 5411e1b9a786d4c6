/**
 * `errand worker -c goophry.config.json` end to end: `{"Args":[...]}` entries, failed lists with
 * `ErrorMessage`, the error script with the message as argv[1], and HTTPS stats on StatsPattern.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { request } from 'node:https';
import { connect } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  deleteKeys,
  type ErrandProcess,
  fixtures,
  freePort,
  type Redis,
  redisClient,
  startWorker,
  tempDir,
  uniqueName,
  waitFor,
  writeConfig,
} from './fixtures/daemon/harness.ts';
import { REDIS_ADDRESS } from './helpers.ts';

const qk = uniqueName('goophry');
const dir = tempDir('goophry');
const errOut = tempDir('goophry-err');
let port = 0;
let redis: Redis;
let daemon: ErrandProcess;
let cert = '';

/** GET over HTTPS trusting only the test's self-signed certificate. */
function httpsGet(path: string): Promise<{ status: number; type: string | undefined; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(
      { host: '127.0.0.1', port, path, ca: cert, servername: 'localhost', timeout: 5000 },
      (res) => {
        let body = '';
        res.on('data', (c: Buffer) => {
          body += c.toString();
        });
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, type: res.headers['content-type'], body }),
        );
      },
    );
    req.on('timeout', () => req.destroy(new Error('stats request timed out')));
    req.on('error', reject);
    req.end();
  });
}

void describe('Goophry config, end to end', () => {
  before(async () => {
    redis = await redisClient();
    port = await freePort();
    execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'rsa:2048',
        '-nodes',
        '-days',
        '1',
        '-subj',
        '/CN=localhost',
        '-addext',
        'subjectAltName=DNS:localhost,IP:127.0.0.1',
        '-keyout',
        join(dir, 'key.pem'),
        '-out',
        join(dir, 'cert.pem'),
      ],
      { stdio: 'ignore' },
    );
    cert = readFileSync(join(dir, 'cert.pem'), 'utf8');
    const config = writeConfig(
      dir,
      'goophry.config.json',
      JSON.stringify({
        RedisNetwork: 'tcp',
        RedisAddress: REDIS_ADDRESS,
        RedisQueueKey: qk,
        Tasks: [
          { Type: 'out', Script: '/usr/bin/printf', Workers: 2 },
          { Type: 'quiet', Script: `${fixtures}/stderr-only.sh` },
        ],
        ErrorScript: `${fixtures}/copy-arg.sh`,
        FailedTasksTTL: 300,
        Logfile: '',
        StatsInterface: `127.0.0.1:${port}`,
        StatsPattern: '/testpattern',
        StatsTLSCertFile: 'cert.pem',
        StatsTLSKeyFile: 'key.pem',
      }),
    );
    daemon = await startWorker(config, { ERR_OUT_DIR: errOut });
  });

  after(async () => {
    const exit = await daemon?.stop();
    assert.equal(exit?.code, 0);
    await deleteKeys(redis, `${qk}:`, `errand:${qk}:`);
    await redis.close();
  });

  void it('runs {"Args":[...]} entries; a failure lands in the failed list with ErrorMessage and its TTL', async () => {
    await redis.rPush(`${qk}:quiet`, '{"Args":["x"]}');
    await redis.rPush(`${qk}:out`, '{"Args":["test output"]}');
    await daemon.waitForLine(
      'the quiet task to complete',
      (l) => l.msg === 'task completed' && l.task === 'quiet',
    );
    const entry = await waitFor('a failed entry', () =>
      redis.lRange(`${qk}:out:failed`, 0, -1).then((l) => l[0]),
    );
    assert.deepEqual(JSON.parse(entry), { Args: ['test output'], ErrorMessage: 'test output' });
    const ttl = await redis.ttl(`${qk}:out:failed`);
    assert.ok(ttl > 290 && ttl <= 300, `FailedTasksTTL 300 (ttl ${ttl})`);
    assert.equal(await redis.exists(`${qk}:quiet:failed`), 0);
  });

  void it('passes the notification itself as argv[1] of ErrorScript', async () => {
    const text = await waitFor('an argv error-script call', () => {
      const f = readdirSync(errOut).find((n) => n.startsWith('argv-'));
      return f ? readFileSync(join(errOut, f), 'utf8') : undefined;
    });
    assert.equal(text, '/usr/bin/printf "test output"\n\ntest output');
    assert.deepEqual(
      readdirSync(errOut).filter((n) => n.startsWith('file-')),
      [],
      'no temp file in Goophry mode',
    );
  });

  void it('serves capitalised stats over HTTPS on StatsPattern only', async () => {
    const ok = await httpsGet('/testpattern');
    assert.equal(ok.status, 200);
    assert.equal(ok.type, 'application/json; charset=utf8');
    const body = JSON.parse(ok.body) as {
      Runtime: number;
      TaskCount: Record<string, number>;
      Version: string;
    };
    assert.deepEqual(Object.keys(body), ['Runtime', 'TaskCount', 'Version']);
    assert.deepEqual(body.TaskCount, { out: 1, quiet: 1 });
    assert.ok(body.Runtime >= 0);
    assert.equal((await httpsGet('/doesnotexist')).status, 404);
    assert.equal(
      (await httpsGet('/testpattern/more')).status,
      404,
      'a pattern without a trailing slash is exact',
    );
    // Plain HTTP to the HTTPS port gets Go's answer, byte for byte, as from Goophry.
    const answer = await new Promise<string>((resolve, reject) => {
      let got = '';
      const socket = connect(port, '127.0.0.1', () =>
        socket.write('GET /testpattern HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n'),
      );
      socket.setTimeout(10_000, () => socket.destroy(new Error('no answer')));
      socket.on('data', (c: Buffer) => {
        got += c.toString('latin1');
      });
      socket.on('close', () => resolve(got));
      socket.on('error', reject);
    });
    assert.equal(answer, 'HTTP/1.0 400 Bad Request\r\n\r\nClient sent an HTTP request to an HTTPS server.\n');
    // And HTTPS still works on the same port afterwards.
    assert.equal((await httpsGet('/testpattern')).status, 200);
  });
});
