// The flags of `run`, which `check-config` and `ensure-loopback` take too, so they check and
// prepare exactly what `run` would start. They come from the schema (OPTIONS[...].flag): a new
// option with a flag is a new flag here, in the help and in the README without another edit.
// Parsing only checks their shape; loadConfig checks the values together with the file, so
// every problem is reported in one pass with its flag.

import type { CliFlags } from '../config/load.js';
import { OPTION_KEYS, OPTIONS, formatDefault, optionSpec } from '../config/schema.js';
import { type FlagDef, type Parsed, allValues, isSet, lastValue } from './command.js';

const CONFIG_FLAG: FlagDef = { name: '--config', arg: 'FILE', help: 'config file, a [Resolve] section; drop-ins in FILE.d/*.conf', note: 'default: none' };

export const RUN_FLAGS: readonly FlagDef[] = [
  CONFIG_FLAG,
  ...OPTION_KEYS.flatMap((key) => {
    const spec = optionSpec(key);
    return spec.flag ? [{ ...spec.flag, note: `file: ${key}=, default: ${formatDefault(spec)}` }] : [];
  }),
];

// Each schema flag sets the CliFlags field named like it in camelCase (--upstream-device →
// upstreamDevice). Checked at compile time, so a flag added to the schema without its field in
// CliFlags does not build.
type Camel<S extends string> = S extends `${infer H}-${infer T}` ? `${H}${Capitalize<Camel<T>>}` : S;
type SchemaFlag = { [K in keyof typeof OPTIONS]: (typeof OPTIONS)[K] extends { readonly flag: { readonly name: `--${infer N}` } } ? N : never }[keyof typeof OPTIONS];
const everySchemaFlagHasAField: Camel<SchemaFlag> extends keyof CliFlags ? true : never = true;
void everySchemaFlagHasAField;

const camel = (flag: string): string => flag.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());

/** The schema flags given on the command line, as loadConfig takes them. */
export function cliFlags(p: Parsed): CliFlags {
  const out: Record<string, string | readonly string[] | boolean> = {};
  for (const key of OPTION_KEYS) {
    const flag = optionSpec(key).flag;
    if (!flag) continue;
    const name = flag.name.slice(2);
    if (!isSet(p, name)) continue;
    if (!flag.arg) out[camel(name)] = true;
    else if (flag.repeatable) out[camel(name)] = allValues(p, name) ?? [];
    else out[camel(name)] = lastValue(p, name) ?? '';
  }
  return out as CliFlags;
}

/** --config FILE, when given. */
export function configFile(p: Parsed): string | undefined {
  return lastValue(p, 'config');
}
