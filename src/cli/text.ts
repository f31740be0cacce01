// Small pieces of English shared by the parser's messages, the help texts and the output.

/** ["a", "b", "c"] → "a, b and c". */
export function sentenceList(items: readonly string[]): string {
  return items.length <= 1 ? items.join('') : `${items.slice(0, -1).join(', ')} and ${items[items.length - 1]!}`;
}

/** 1 → "1 entry", 3 → "3 entries". */
export function plural(n: number, one: string, many = `${one}s`): string {
  return `${n} ${n === 1 ? one : many}`;
}
