// Core code logs through this interface; the extension passes a LogOutputChannel-backed one,
// the CLI a console one, and tests a recording one.

export type LogLevel = 'trace' | 'debug' | 'info' | 'warn' | 'error';

export interface Logger {
  trace(message: string, ...args: unknown[]): void;
  debug(message: string, ...args: unknown[]): void;
  info(message: string, ...args: unknown[]): void;
  warn(message: string, ...args: unknown[]): void;
  error(message: string | Error, ...args: unknown[]): void;
}

const LEVELS: readonly LogLevel[] = ['trace', 'debug', 'info', 'warn', 'error'];

export function createConsoleLogger(minLevel: LogLevel = 'info', write: (line: string) => void = (l) => process.stderr.write(l + '\n')): Logger {
  const min = LEVELS.indexOf(minLevel);
  const at = (level: LogLevel) => (message: string | Error, ...args: unknown[]): void => {
    if (LEVELS.indexOf(level) < min) return;
    const text = message instanceof Error ? message.stack ?? message.message : message;
    const extra = args.length ? ' ' + args.map(formatArg).join(' ') : '';
    write(`[${new Date().toISOString()}] ${level.toUpperCase()} ${text}${extra}`);
  };
  return { trace: at('trace'), debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
}

function formatArg(a: unknown): string {
  if (a instanceof Error) return a.message;
  if (typeof a === 'string') return a;
  try { return JSON.stringify(a); } catch { return String(a); }
}

export const nullLogger: Logger = { trace() {}, debug() {}, info() {}, warn() {}, error() {} };

export interface LogEntry { level: LogLevel; message: string; args: unknown[] }

/** For tests: keeps every entry so a test can assert that something was (or was not) reported. */
export class RecordingLogger implements Logger {
  readonly entries: LogEntry[] = [];
  trace(message: string, ...args: unknown[]): void { this.entries.push({ level: 'trace', message, args }); }
  debug(message: string, ...args: unknown[]): void { this.entries.push({ level: 'debug', message, args }); }
  info(message: string, ...args: unknown[]): void { this.entries.push({ level: 'info', message, args }); }
  warn(message: string, ...args: unknown[]): void { this.entries.push({ level: 'warn', message, args }); }
  error(message: string | Error, ...args: unknown[]): void {
    this.entries.push({ level: 'error', message: message instanceof Error ? message.message : message, args });
  }
  messages(level?: LogLevel): string[] {
    return this.entries.filter((e) => !level || e.level === level).map((e) => e.message);
  }
}
