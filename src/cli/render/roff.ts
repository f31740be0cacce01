// The few pieces of roff (man(7) macros) the manual pages need: escaping text so groff prints it
// as written, and the blocks the pages are made of. Nothing here knows about vrf-resolver.

/**
 * Text for a roff text line, printed as written. A backslash is roff's escape character (\e
 * prints one). Every "-" becomes \- so that flags and paths copy from the terminal as ASCII
 * (groff turns a plain "-" into a typographic hyphen; Debian's man.local prints \- as U+002D,
 * and this is what pandoc and help2man write too). A line that would start with "." or "'" is
 * a request to roff: \& in front makes it text.
 */
export function roffText(text: string): string {
  const escaped = text.replace(/\\/g, '\\e').replace(/-/g, '\\-');
  return escaped.replace(/^([.'])/gm, '\\&$1');
}

export const bold = (text: string): string => `\\fB${roffText(text)}\\fR`;
export const italic = (text: string): string => `\\fI${roffText(text)}\\fR`;

/** One filled paragraph. Newlines inside the text are joined: roff fills the lines itself. */
export function paragraph(text: string): string[] {
  return ['.PP', roffText(text.replace(/\s*\n\s*/g, ' '))];
}

/** Lines printed as they are (no filling), indented: examples, numbered lists laid out by hand. */
export function preformatted(lines: readonly string[]): string[] {
  return ['.PP', '.RS 4', '.nf', ...lines.map(roffText), '.fi', '.RE'];
}

/** A tagged paragraph: `tag` (already formatted with bold/italic) on its own line, then its text. */
export function tagged(tag: string, text: string): string[] {
  return ['.TP', tag, roffText(text.replace(/\s*\n\s*/g, ' '))];
}

/**
 * The title line. roff's macro arguments are quoted; a double quote inside one is written "".
 */
export function title(name: string, section: number, date: string, source: string, manual: string): string {
  const arg = (s: string): string => `"${roffText(s).replace(/"/g, '""')}"`;
  return `.TH ${arg(name)} ${section} ${arg(date)} ${arg(source)} ${arg(manual)}`;
}
