/**
 * Bounded capture of a command's output: keeps the first and the last bytes and counts what
 * was dropped in between, so a command printing gigabytes costs a fixed amount of memory
 * while the operator still sees how it started and how it ended.
 */
export interface OutputCapture {
  write(chunk: Buffer): void;
  /** Bytes written so far, including the omitted ones. */
  readonly totalBytes: number;
  /** Bytes currently held in memory. */
  readonly retainedBytes: number;
  text(): string;
}

export function createOutputCapture(limitBytes: number): OutputCapture {
  const headLimit = Math.ceil(limitBytes / 2);
  const tailLimit = limitBytes - headLimit;
  const head: Buffer[] = [];
  let headBytes = 0;
  let tail: Buffer[] = [];
  let tailBytes = 0;
  let total = 0;

  return {
    write(chunk) {
      total += chunk.length;
      let rest = chunk;
      if (headBytes < headLimit) {
        const take = Math.min(headLimit - headBytes, rest.length);
        // Copy: stream chunks may be slices of larger pooled buffers we must not retain.
        head.push(Buffer.from(rest.subarray(0, take)));
        headBytes += take;
        rest = rest.subarray(take);
      }
      if (rest.length === 0 || tailLimit === 0) return;
      if (rest.length >= tailLimit) {
        tail = [Buffer.from(rest.subarray(rest.length - tailLimit))];
        tailBytes = tailLimit;
        return;
      }
      tail.push(Buffer.from(rest));
      tailBytes += rest.length;
      while (tailBytes > tailLimit) {
        const first = tail[0] as Buffer;
        const excess = tailBytes - tailLimit;
        if (first.length <= excess) {
          tail.shift();
          tailBytes -= first.length;
        } else {
          tail[0] = first.subarray(excess);
          tailBytes -= excess;
        }
      }
    },
    get totalBytes() {
      return total;
    },
    get retainedBytes() {
      return headBytes + tailBytes;
    },
    text() {
      const omitted = total - headBytes - tailBytes;
      const headText = Buffer.concat(head).toString('utf8');
      const tailText = Buffer.concat(tail).toString('utf8');
      if (omitted === 0) return headText + tailText;
      return `${headText}\n... ${omitted} bytes omitted ...\n${tailText}`;
    },
  };
}
