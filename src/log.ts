// Structured logs with pino, to stdout (journald takes stdout under systemd). Every line carries
// the VRF so instances for several VRFs can share one journal.

import pino, { type Logger } from 'pino';
import type { LogLevel } from './config/types.js';

export function createLogger(level: LogLevel, vrf: string | null, destination?: pino.DestinationStream): Logger {
  return pino(
    {
      level,
      base: { vrf: vrf ?? 'default' },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
    },
    destination ?? pino.destination({ dest: 1, sync: false }),
  );
}
