// DNS over TCP frames every message with a two-octet length (RFC 1035 section 4.2.2, RFC 7766
// section 8). We do our own framing: dns-packet's streamDecode ignores the prefix. Chunks are
// kept as they arrive and joined once per complete message, so a peer that trickles one byte at
// a time costs linear work, not quadratic.

export type FrameResult = Buffer | null | 'too-large';

export class FrameDecoder {
  private chunks: Buffer[] = [];
  private buffered = 0;

  /** @param maxLen largest message accepted; a longer length prefix is reported, not read. */
  constructor(private readonly maxLen: number) {}

  /** Bytes received but not yet returned as a message. */
  get pending(): number {
    return this.buffered;
  }

  push(chunk: Buffer): void {
    if (chunk.length === 0) return;
    this.chunks.push(chunk);
    this.buffered += chunk.length;
  }

  /** The next complete message, null when more bytes are needed, 'too-large' when over maxLen. */
  next(): FrameResult {
    if (this.buffered < 2) return null;
    const len = this.peekLength();
    if (len > this.maxLen) return 'too-large';
    if (this.buffered < 2 + len) return null;
    const all = this.chunks.length === 1 ? this.chunks[0]! : Buffer.concat(this.chunks, this.buffered);
    const msg = all.subarray(2, 2 + len);
    const rest = all.subarray(2 + len);
    this.chunks = rest.length > 0 ? [rest] : [];
    this.buffered = rest.length;
    return msg;
  }

  private peekLength(): number {
    const first = this.chunks[0]!;
    if (first.length >= 2) return first.readUInt16BE(0);
    return (first[0]! << 8) | this.chunks[1]![0]!;
  }
}

/** The message with its two-octet length in front. */
export function frame(msg: Buffer): Buffer {
  const out = Buffer.allocUnsafe(2 + msg.length);
  out.writeUInt16BE(msg.length, 0);
  msg.copy(out, 2);
  return out;
}
