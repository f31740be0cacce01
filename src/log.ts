// Structured logs with pino, to stdout (journald takes stdout under systemd). Every line carries
// the VRF so instances for several VRFs can share one journal. Two formats (LogFormat=):
//   json     one JSON object per line, as pino writes it.
//   journal  one line per event for journald: "<N>msg key=value ...". The <N> prefix is the
//            syslog priority (sd-daemon(3)); journald strips it and files the line under that
//            priority (SyslogLevelPrefix=yes is systemd's default), so `journalctl -p warning`
//            works. No timestamp: the journal adds its own.

import { fstatSync } from 'node:fs';
import pino, { type Logger } from 'pino';
import type { LogFormat, LogLevel } from './config/types.js';

export function createLogger(
  level: LogLevel,
  vrf: string | null,
  destination?: pino.DestinationStream,
  format: LogFormat = 'json',
): Logger {
  const own = destination === undefined ? pino.destination({ dest: 1, sync: false }) : undefined;
  const out = destination ?? own!;
  const log = pino(
    {
      level,
      base: { vrf: vrf ?? 'default' },
      timestamp: format === 'json' ? pino.stdTimeFunctions.isoTime : false,
      formatters: { level: (label) => ({ level: label }) },
    },
    format === 'journal' ? journalStream(out) : out,
  );
  if (own !== undefined) stdoutSinks.set(log, own);
  return log;
}

/** Whether a logger writes debug lines, as a field: levelGate(). */
export interface LevelGate {
  readonly debug: boolean;
}

const gates = new WeakMap<Logger, { debug: boolean }>();

/**
 * Whether `log` writes debug lines, kept up to date by its 'level-change' event (a reload, or
 * `vrf-resolver log-level`). For the query log line, asked once per query: a field read,
 * where isLevelEnabled('debug') is lookups on pino's object, which is in dictionary mode
 * (issue 13). One gate and one listener per logger, however many pipelines ask for it.
 */
export function levelGate(log: Logger): LevelGate {
  let gate = gates.get(log);
  if (gate === undefined) {
    const g = { debug: log.isLevelEnabled('debug') };
    log.on('level-change', () => {
      g.debug = log.isLevelEnabled('debug');
    });
    gates.set(log, g);
    gate = g;
  }
  return gate;
}

/** The stdout destinations createLogger made, for closeLogger. */
const stdoutSinks = new WeakMap<Logger, ReturnType<typeof pino.destination>>();

/**
 * Writes out every line logged so far, before process.exit(). logger.flush() is not enough:
 * sonic-boom's flush() calls back at once when minLength is 0, even with a write in flight,
 * and the last lines ("stopped") were lost. end() waits for that write, then closes (fd 1
 * itself stays open). Bounded, so a stuck stdout cannot hold the exit.
 */
export function closeLogger(log: Logger, timeoutMs = 2_000): Promise<void> {
  const sink = stdoutSinks.get(log);
  if (sink === undefined) return new Promise((resolve) => log.flush(() => resolve()));
  stdoutSinks.delete(log);
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, timeoutMs);
    sink.once('close', () => {
      clearTimeout(timer);
      resolve();
    });
    sink.end();
  });
}

/** LogFormat=auto: journal when stdout (or stderr) is the journal stream systemd gave us. */
export function detectLogFormat(env: NodeJS.ProcessEnv = process.env): LogFormat {
  return stdioIsJournal(env) ? 'journal' : 'json';
}

/**
 * systemd sets JOURNAL_STREAM=DEV:INODE when stdout or stderr is connected to the journal
 * (systemd.exec(5)). Compare it with our fds, as sd-daemon users do: a shell redirect in a
 * child of a service keeps the variable but not the stream.
 */
export function stdioIsJournal(env: NodeJS.ProcessEnv = process.env): boolean {
  const m = /^(\d+):(\d+)$/.exec(env['JOURNAL_STREAM'] ?? '');
  if (!m) return false;
  for (const fd of [1, 2]) {
    try {
      const st = fstatSync(fd, { bigint: true });
      if (st.dev === BigInt(m[1]!) && st.ino === BigInt(m[2]!)) return true;
    } catch {
      // fd closed: not the journal
    }
  }
  return false;
}

// syslog priorities (RFC 5424 section 6.2.1) for pino's level labels.
const PRIORITY: Readonly<Record<string, number>> = { fatal: 2, error: 3, warn: 4, info: 6, debug: 7, trace: 7 };

/** Prefix for a line written straight to stdout/stderr in journal format (startup errors). */
export function journalPrefix(level: keyof typeof PRIORITY): string {
  return `<${PRIORITY[level] ?? 6}>`;
}

/** Rewrites each JSON line pino produces into one journal line. */
function journalStream(out: pino.DestinationStream): pino.DestinationStream {
  const stream = {
    write(line: string): void {
      out.write(toJournalLine(line));
    },
    // logger.flush() reaches the real destination through this.
    flush(cb?: (err?: Error) => void): void {
      const f = (out as { flush?: (cb?: (err?: Error) => void) => void }).flush;
      if (typeof f === 'function') f.call(out, cb);
      else cb?.();
    },
  };
  return stream;
}

/** `{"level":"warn","vrf":"mgmt","msg":"upstream failed","code":"X"}` → `<4>upstream failed vrf=mgmt code=X`. */
export function toJournalLine(json: string): string {
  let obj: Record<string, unknown>;
  try {
    obj = JSON.parse(json) as Record<string, unknown>;
  } catch {
    return `<6>${oneLine(json.trimEnd())}\n`;
  }
  const { level, msg, pid: _pid, hostname: _host, time: _time, ...fields } = obj;
  const prio = PRIORITY[String(level)] ?? 6;
  const parts = [oneLine(typeof msg === 'string' ? msg : '')];
  for (const [k, v] of Object.entries(fields)) {
    if (v === undefined) continue;
    parts.push(`${k}=${formatValue(v)}`);
  }
  return `<${prio}>${parts.filter((p) => p !== '').join(' ')}\n`;
}

/** Bare when it is a plain token (letters, digits, . : / @ - _ [ ]), else JSON (quoted, escaped). */
function formatValue(v: unknown): string {
  if (typeof v === 'number' || typeof v === 'boolean' || v === null) return String(v);
  if (typeof v === 'string' && /^[\w.:/@\-[\]]+$/.test(v)) return v;
  return JSON.stringify(v);
}

/** A message can hold newlines (a config error); journald would split it into several entries. */
function oneLine(s: string): string {
  return s.replace(/\r?\n\s*/g, ' | ');
}
