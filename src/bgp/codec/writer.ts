/**
 * A growable byte writer for the encoders: messages are built once into one buffer, with
 * length fields reserved and patched afterwards, so nothing is concatenated per field.
 */
export class Writer {
  private buf: Buffer;
  /** Bytes written so far. */
  length = 0;

  constructor(capacity = 256) {
    this.buf = Buffer.allocUnsafe(capacity);
  }

  /** Make room for `n` more bytes. */
  ensure(n: number): void {
    const need = this.length + n;
    if (need <= this.buf.length) return;
    let cap = this.buf.length * 2;
    while (cap < need) cap *= 2;
    const next = Buffer.allocUnsafe(cap);
    this.buf.copy(next, 0, 0, this.length);
    this.buf = next;
  }

  u8(v: number): void {
    this.ensure(1);
    this.buf[this.length++] = v & 0xff;
  }

  u16(v: number): void {
    this.ensure(2);
    this.buf.writeUInt16BE(v & 0xffff, this.length);
    this.length += 2;
  }

  u32(v: number): void {
    this.ensure(4);
    this.buf.writeUInt32BE(v >>> 0, this.length);
    this.length += 4;
  }

  bytes(b: Uint8Array): void {
    this.ensure(b.length);
    this.buf.set(b, this.length);
    this.length += b.length;
  }

  /** Reserve `n` bytes (for a length field written later); returns their offset. */
  reserve(n: number): number {
    this.ensure(n);
    const at = this.length;
    this.length += n;
    return at;
  }

  setU8(at: number, v: number): void {
    this.buf[at] = v & 0xff;
  }

  setU16(at: number, v: number): void {
    this.buf.writeUInt16BE(v & 0xffff, at);
  }

  /** Direct access for the hot prefix encoder; valid until the next ensure(). */
  raw(): Buffer {
    return this.buf;
  }

  /** The written bytes (a view, not a copy). */
  finish(): Buffer {
    return this.buf.subarray(0, this.length);
  }
}
