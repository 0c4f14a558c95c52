const CARRIAGE_RETURN = 13;

/**
 * Newline-delimited JSON-RPC as it arrives on a pipe (MCP stdio transport): chunks split lines
 * anywhere, so the start of a line is held back until its newline comes, and only a chunk with
 * a newline joins what was held (joining on every chunk is quadratic for a long line). A line's
 * trailing carriage return is dropped; empty lines are skipped.
 */
export class LineReader {
  private pending: string[] = [];
  private pendingLength = 0;

  constructor(
    private readonly onLine: (line: string) => void,
    private readonly maxLineLength: number,
    /** A line grew past `maxLineLength`: what was held is dropped. */
    private readonly onOverflow: () => void,
  ) {}

  push(chunk: string): void {
    let newline = chunk.indexOf('\n');
    if (newline === -1) {
      this.holdBack(chunk);
      return;
    }
    let text = chunk;
    if (this.pending.length > 0) {
      newline += this.pendingLength;
      text = this.pending.join('') + chunk;
      this.pending = [];
      this.pendingLength = 0;
    }
    let start = 0;
    while (newline !== -1) {
      const end = newline > start && text.charCodeAt(newline - 1) === CARRIAGE_RETURN ? newline - 1 : newline;
      if (end > start) this.onLine(text.slice(start, end));
      start = newline + 1;
      newline = text.indexOf('\n', start);
    }
    if (start < text.length) this.holdBack(text.slice(start));
  }

  private holdBack(part: string): void {
    this.pendingLength += part.length;
    if (this.pendingLength > this.maxLineLength) {
      this.pending = [];
      this.pendingLength = 0;
      this.onOverflow();
      return;
    }
    this.pending.push(part);
  }
}
