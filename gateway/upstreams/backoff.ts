/** Exponential backoff with full jitter on the upper half, reset after a healthy stretch. */
export class RestartBackoff {
  private next: number;
  attempts = 0;

  constructor(private readonly options: { initialDelayMs: number; maxDelayMs: number; resetAfterMs: number }) {
    this.next = options.initialDelayMs;
  }

  /** The delay before the next restart; doubles each time up to the maximum. */
  take(): number {
    const base = this.next;
    this.next = Math.min(this.next * 2, this.options.maxDelayMs);
    this.attempts++;
    return Math.round(base / 2 + (Math.random() * base) / 2);
  }

  /** Call when a connection ends: a long healthy run forgets earlier failures. */
  noteUptime(uptimeMs: number): void {
    if (uptimeMs >= this.options.resetAfterMs) {
      this.next = this.options.initialDelayMs;
      this.attempts = 0;
    }
  }
}
