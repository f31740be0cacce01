// What the commands that load a configuration share (run, check-config --instance,
// ensure-loopback): reporting a bad configuration or a failure on stderr, in the journal's
// format when systemd reads it, and writing out the log before the process exits.

import type { Logger } from 'pino';
import { loadConfig, type LoadOptions } from '../config/load.js';
import type { Config, LogFormat } from '../config/types.js';
import { ConfigError } from '../errors.js';
import { closeLogger, detectLogFormat, journalPrefix } from '../log.js';

export function loadOrReport(load: LoadOptions): Config | null {
  try {
    return loadConfig(load);
  } catch (e) {
    if (!(e instanceof ConfigError)) throw e;
    writeError(detectLogFormat(), e.message);
    return null;
  }
}

/** To stderr; in the journal each line gets the error priority (<3>) so -p err finds it. */
export function writeError(format: LogFormat, text: string): void {
  const prefix = format === 'journal' ? journalPrefix('error') : '';
  process.stderr.write(text.split('\n').map((l) => `${prefix}vrf-resolver: ${l}`).join('\n') + '\n');
}

/** Every line logged so far written out; for the exit that follows. */
export function finishLog(log: Logger): Promise<void> {
  return closeLogger(log);
}
