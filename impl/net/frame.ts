// Length-prefixed JSON frames: a 4-byte big-endian length, then that many bytes of UTF-8 JSON. Every frame
// read from the network is untrusted: the decoder bounds the length, and callers validate the JSON with zod.
import type { z } from 'zod';

export const MAX_FRAME_BYTES = 64 * 1024 * 1024;

export function encodeFrame(value: unknown): Buffer {
  const body = Buffer.from(JSON.stringify(value), 'utf8');
  const head = Buffer.allocUnsafe(4);
  head.writeUInt32BE(body.length, 0);
  return Buffer.concat([head, body]);
}

export class FrameError extends Error {}

/** Accumulates bytes and yields whole frames; throws FrameError on anything that is not a frame. */
export class FrameDecoder<T> {
  private chunks: Buffer[] = [];
  private buffered = 0;

  constructor(
    private readonly schema: z.ZodType<T>,
    private readonly maxBytes = MAX_FRAME_BYTES,
  ) {}

  push(chunk: Buffer): T[] {
    this.chunks.push(chunk);
    this.buffered += chunk.length;
    const out: T[] = [];
    for (;;) {
      if (this.buffered < 4) return out;
      if (this.chunks[0]!.length < 4) this.chunks = [Buffer.concat(this.chunks)];
      const len = this.chunks[0]!.readUInt32BE(0);
      if (len === 0 || len > this.maxBytes) throw new FrameError(`frame length ${len} outside 1..${this.maxBytes}`);
      // Concatenate only once the whole frame is here: a large SNAP arrives in many chunks.
      if (this.buffered < 4 + len) return out;
      const buf = this.chunks.length === 1 ? this.chunks[0]! : Buffer.concat(this.chunks);
      const body = buf.subarray(4, 4 + len);
      const rest = buf.subarray(4 + len);
      this.chunks = rest.length ? [rest] : [];
      this.buffered = rest.length;
      let json: unknown;
      try {
        json = JSON.parse(body.toString('utf8'));
      } catch {
        throw new FrameError(`frame of ${len} bytes is not JSON`);
      }
      const r = this.schema.safeParse(json);
      if (!r.success) {
        const issue = r.error.issues[0];
        throw new FrameError(`invalid frame: ${issue ? `${issue.path.join('.') || '(root)'}: ${issue.message}` : 'rejected'}`);
      }
      out.push(r.data);
    }
  }
}
