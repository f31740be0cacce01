// Checks for the DNS words of operator commands (NAME, TYPE), as usage errors that say what fits.

import { typeNumber } from '../dns/mnemonics.js';
import { nameFromText } from '../dns/stub-query.js';

export function domainNameProblem(word: string): string | null {
  const wire = nameFromText(word);
  return typeof wire === 'string' ? wire : null;
}

export function isRecordType(word: string): boolean {
  return typeNumber(word) !== null;
}

export function recordTypeProblem(word: string): string | null {
  return isRecordType(word) ? null : `"${word}" is not a record type (A, AAAA, MX, TXT, ..., or TYPE65534 for any number)`;
}
