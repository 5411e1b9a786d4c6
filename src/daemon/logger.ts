/**
 * One line per event: `2026-11-22T13:50:00.123Z INFO task completed task=resize id=…` by
 * default, or one JSON object per line with `--log-format json`. Debug lines only with -v.
 */
import { closeSync, openSync, writeSync } from 'node:fs';

export type LogFormat = 'text' | 'json';
export type LogLevel = 'debug' | 'info' | 'warn' | 'error';
export type LogFields = Readonly<Record<string, string | number | boolean | undefined>>;

const needsQuotes = /[\s"=]|^$/;

function textValue(v: string | number | boolean): string {
  const s = String(v);
  return needsQuotes.test(s) ? JSON.stringify(s) : s;
}

export class Logger {
  private fd: number | undefined;

  /** @param file Path of a log file to append to; '' or undefined logs to stdout. */
  constructor(
    private readonly opts: {
      readonly format: LogFormat;
      readonly verbose: boolean;
      readonly file?: string | undefined;
    },
  ) {
    // Opened synchronously so a bad path fails at start, and lines survive a crash.
    if (opts.file) this.fd = openSync(opts.file, 'a', 0o644);
  }

  debug(msg: string, fields: LogFields = {}): void {
    if (this.opts.verbose) this.write('debug', msg, fields);
  }
  info(msg: string, fields: LogFields = {}): void {
    this.write('info', msg, fields);
  }
  warn(msg: string, fields: LogFields = {}): void {
    this.write('warn', msg, fields);
  }
  error(msg: string, fields: LogFields = {}): void {
    this.write('error', msg, fields);
  }

  private write(level: LogLevel, msg: string, fields: LogFields): void {
    const time = new Date().toISOString();
    const defined = Object.entries(fields).filter(
      (e): e is [string, string | number | boolean] => e[1] !== undefined,
    );
    let line: string;
    if (this.opts.format === 'json') {
      line = JSON.stringify({ time, level, msg, ...Object.fromEntries(defined) });
    } else {
      // Keep one physical line per event: newlines in the message are escaped.
      const text = msg.includes('\n') ? JSON.stringify(msg) : msg;
      const rest = defined.map(([k, v]) => ` ${k}=${textValue(v)}`).join('');
      line = `${time} ${level.toUpperCase()} ${text}${rest}`;
    }
    if (this.fd === undefined) process.stdout.write(`${line}\n`);
    else writeSync(this.fd, `${line}\n`);
  }

  close(): void {
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = undefined;
  }
}
