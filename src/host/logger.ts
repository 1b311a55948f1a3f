// The core Logger interface backed by one LogOutputChannel: levels, timestamps and the user's
// chosen log level come from VS Code ("Developer: Set Log Level..." applies to it).
import * as vscode from 'vscode';
import type { Logger } from '../core/logger';
import { OUTPUT_CHANNEL_NAME } from './constants';

export interface ChannelLogger extends Logger, vscode.Disposable {
  readonly channel: vscode.LogOutputChannel;
  show(): void;
}

export function createChannelLogger(channel: vscode.LogOutputChannel = vscode.window.createOutputChannel(OUTPUT_CHANNEL_NAME, { log: true })): ChannelLogger {
  return {
    channel,
    trace: (m, ...a) => channel.trace(m, ...a.map(formatArg)),
    debug: (m, ...a) => channel.debug(m, ...a.map(formatArg)),
    info: (m, ...a) => channel.info(m, ...a.map(formatArg)),
    warn: (m, ...a) => channel.warn(m, ...a.map(formatArg)),
    // LogOutputChannel.error takes an Error and prints its stack: keep it for real failures.
    error: (m, ...a) => channel.error(m, ...a.map(formatArg)),
    show: () => channel.show(true),
    dispose: () => channel.dispose(),
  };
}

// Objects are shown as JSON so log lines stay greppable; errors keep their message.
function formatArg(a: unknown): unknown {
  if (a instanceof Error || typeof a === 'string' || typeof a === 'number' || typeof a === 'boolean') return a;
  try { return JSON.stringify(a); } catch { return String(a); }
}
