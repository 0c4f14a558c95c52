/**
 * How many of something each key holds open (sessions per user, calls per upstream…), with
 * keys that fall to zero forgotten, so the map holds only keys that hold something.
 */
export class KeyCounts {
  private readonly counts = new Map<string, number>();

  get(key: string): number {
    return this.counts.get(key) ?? 0;
  }

  add(key: string): void {
    this.counts.set(key, this.get(key) + 1);
  }

  remove(key: string): void {
    const left = this.get(key) - 1;
    if (left > 0) this.counts.set(key, left);
    else this.counts.delete(key);
  }
}
