/**
 * One line per event, in one of four formats:
 * - `text`: `2026-11-22T13:50:00.123Z INFO task completed task=resize id=…`
 * - `json`: one JSON object per line
 * - `gordon`: Gordon's `2026/11/22 13:50:00 [ERROR] first line` with tab-indented continuation
 *   lines; debug and info lines only with -v (Gordon logged only errors without it)
 * - `goophry`: Go's plain `2026/11/22 13:50:00 message`, and nothing at all without -v (as Goophry)
 * Debug lines only with -v in every format.
 */
import { closeSync, openSync, writeSync } from 'node:fs';

export const LOG_FORMATS = ['text', 'json', 'gordon', 'goophry'] as const;
export type LogFormat = (typeof LOG_FORMATS)[number];
export type LogLevel = 'debug' | 'info' | 'warn' | 'error';
export type LogFields = Readonly<Record<string, string | number | boolean | undefined>>;

const needsQuotes = /[\s"=]|^$/;

function textValue(v: string | number | boolean): string {
  const s = String(v);
  return needsQuotes.test(s) ? JSON.stringify(s) : s;
}

const pad = (n: number): string => String(n).padStart(2, '0');

/** Go's log.LstdFlags timestamp, in local time: `2026/11/22 13:50:00`. */
export function goTime(d: Date): string {
  return `${d.getFullYear()}/${pad(d.getMonth() + 1)}/${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
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

  get format(): LogFormat {
    return this.opts.format;
  }

  debug(msg: string, fields: LogFields = {}): void {
    if (this.opts.verbose) this.write('debug', msg, fields);
  }
  info(msg: string, fields: LogFields = {}): void {
    // Gordon and Goophry printed nothing but errors (Goophry not even those) without -v.
    if (this.opts.verbose || (this.opts.format !== 'gordon' && this.opts.format !== 'goophry'))
      this.write('info', msg, fields);
  }
  warn(msg: string, fields: LogFields = {}): void {
    if (this.opts.verbose || this.opts.format !== 'goophry') this.write('warn', msg, fields);
  }
  error(msg: string, fields: LogFields = {}): void {
    if (this.opts.verbose || this.opts.format !== 'goophry') this.write('error', msg, fields);
  }

  private write(level: LogLevel, msg: string, fields: LogFields): void {
    const now = new Date();
    const defined = Object.entries(fields).filter(
      (e): e is [string, string | number | boolean] => e[1] !== undefined,
    );
    const rest = defined.map(([k, v]) => ` ${k}=${textValue(v)}`).join('');
    let line: string;
    switch (this.opts.format) {
      case 'json':
        line = JSON.stringify({ time: now.toISOString(), level, msg, ...Object.fromEntries(defined) });
        break;
      case 'gordon': {
        // Gordon: the message trimmed, each further line indented by a tab.
        const text = `${msg.trim()}${rest}`.replaceAll('\n', '\n\t');
        line = `${goTime(now)} [${level.toUpperCase()}] ${text}`;
        break;
      }
      case 'goophry':
        // Go's log adds a newline only when the message has none.
        line = `${goTime(now)} ${msg}${rest}`.replace(/\n$/, '');
        break;
      default: {
        // Keep one physical line per event: newlines in the message are escaped.
        const text = msg.includes('\n') ? JSON.stringify(msg) : msg;
        line = `${now.toISOString()} ${level.toUpperCase()} ${text}${rest}`;
      }
    }
    if (this.fd === undefined) process.stdout.write(`${line}\n`);
    else writeSync(this.fd, `${line}\n`);
  }

  close(): void {
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = undefined;
  }
}
