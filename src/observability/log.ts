import { mkdirSync } from 'node:fs';
import { LogFileTransport } from './log-file.js';
import { dirname } from 'node:path';
import winston from 'winston';
import { processEnvironment, type GatewayEnvironment } from '../environment.js';

/** The fields every log line about a file or an invoice carries. */
export interface LogContext {
  file?: string;
  fileId?: number;
  source?: string;
  invoice?: string;
  delivery?: number;
  [key: string]: unknown;
}

/** A logger: winston JSON lines to a rotating file, and readable lines on the console. */
export type Logger = winston.Logger;

/** Control characters (a file name may hold them) escaped, so a console line cannot be forged or recoloured. */
export function printable(text: string): string {
  // eslint-disable-next-line no-control-regex
  return text.replace(/[\u0000-\u001f\u007f-\u009f]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
}

/**
 * Text for a console line: line breaks stay line breaks, the lines after the first indented (so no
 * text can pass for a line of its own, which always starts with a time), other control characters escaped.
 */
export function readable(text: string): string {
  return text
    .split(/\r?\n/)
    .map((line) => printable(line))
    .join('\n      ');
}

const consoleLine = winston.format.printf((info) => {
  const { level, message, timestamp, ...rest } = info as Record<string, unknown>;
  const ctx = Object.entries(rest)
    .filter(([k, v]) => v !== undefined && typeof k === 'string' && k !== 'service')
    .map(([k, v]) => `${k}=${typeof v === 'string' ? readable(v) : JSON.stringify(v)}`)
    .join(' ');
  return `${String(timestamp).slice(11, 19)} ${String(level).padEnd(5)} ${readable(String(message))}${ctx ? `  ${ctx}` : ''}`;
});

/**
 * How the console lines look: LOG_FORMAT=json or =text when set; else JSON under systemd (which sets
 * INVOCATION_ID for the processes of a unit) and readable text otherwise.
 */
export function consoleFormat(env: GatewayEnvironment = processEnvironment()): 'json' | 'text' {
  return env.logFormat;
}

/**
 * Lines about single invoices and deliveries: the log file has them all; the readable console shows
 * one line per file instead (and every warning and error about files, targets and the service), so
 * a bulk run of thousands does not scroll away what matters. LOG_CONSOLE=all shows them too.
 */
const PER_ITEM = new Set([
  'invoice issued',
  'delivery sent',
  'invoice held back (deferred)',
  'invoice issued before; not issued again',
  'deferred invoice issued',
  'held invoice issued: its order reached the status',
  'invoice rejected',
  'delivery failed, will retry',
]);
const perFile = winston.format((info) => (PER_ITEM.has(String(info.message)) ? false : info));

/** Creates the service logger; `console: false` keeps the console quiet (tests, bench). */
export function createLogger(options: { level?: string; file?: string; maxSizeMb?: number; maxFiles?: number; console?: boolean }): Logger {
  const transports: winston.transport[] = [];
  if (options.file) {
    mkdirSync(dirname(options.file), { recursive: true });
    transports.push(
      new LogFileTransport(options.file, (options.maxSizeMb ?? 20) * 1024 * 1024, options.maxFiles ?? 10, {
        format: winston.format.combine(winston.format.timestamp(), winston.format.json()),
      }),
    );
  }
  if (options.console !== false) {
    const format = consoleFormat();
    transports.push(
      new winston.transports.Console({
        // JSON lines all go to stdout, where a service manager's journal (or a log shipper) reads them
        ...(format === 'json' ? {} : { stderrLevels: ['error', 'warn'] }),
        format:
          format === 'json'
            ? winston.format.combine(winston.format.timestamp(), winston.format.json())
            : winston.format.combine(
                ...(processEnvironment().logEveryItem ? [] : [perFile()]),
                winston.format.timestamp(),
                ...(process.stdout.isTTY ? [winston.format.colorize()] : []),
                consoleLine,
              ),
      }),
    );
  }
  if (!transports.length) transports.push(new winston.transports.Console({ silent: true }));
  const logger = winston.createLogger({ level: options.level ?? 'info', transports, exitOnError: false });
  return logger;
}
