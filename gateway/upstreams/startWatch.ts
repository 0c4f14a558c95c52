/**
 * A child that is alive and making progress at start-up is not killed for being slow: its
 * handshake may take up to START_PATIENCE start timeouts as long as it keeps writing log lines;
 * one that stays silent for a whole start timeout is stopped. Either way the failure names the
 * child's last log line, so an operator sees what it was doing.
 */
export const START_PATIENCE = 15;

/** The last log line a child wrote, and when. */
export class ChildActivity {
  private lastAt = 0;
  private lastMessage: string | undefined;

  note(message: string): void {
    this.lastAt = Date.now();
    this.lastMessage = message;
  }

  /** The last line, if any, with how long ago it came. */
  last(): { message: string; ageMs: number } | undefined {
    return this.lastMessage === undefined ? undefined : { message: this.lastMessage, ageMs: Date.now() - this.lastAt };
  }

  silentForMs(since: number): number {
    return Date.now() - Math.max(since, this.lastAt);
  }
}

/**
 * Check every `startTimeoutMs` whether the child has logged since; call `onSilence` (which stops
 * it) the first time it has not. Returns the function that ends the watch.
 */
export function watchStart(activity: ChildActivity, startTimeoutMs: number, onSilence: (silentMs: number) => void): () => void {
  const started = Date.now();
  const timer = setInterval(
    () => {
      const silent = activity.silentForMs(started);
      if (silent < startTimeoutMs) return;
      clearInterval(timer);
      onSilence(silent);
    },
    Math.max(50, Math.round(startTimeoutMs / 4)),
  );
  timer.unref();
  return () => clearInterval(timer);
}

/** What a child was last seen doing, for failure messages. */
export function lastLineNote(activity: ChildActivity): string {
  const last = activity.last();
  return last ? `; its last log line, ${Math.round(last.ageMs / 100) / 10} s before, was "${last.message}"` : '; it wrote no log line';
}
