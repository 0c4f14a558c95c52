/**
 * The last N SSE events of one session, for `Last-Event-ID` replay (MCP spec, transports:
 * resumability and redelivery). Event ids are `<streamId>.<sequence>`: the stream is
 * recoverable from the id alone, as the spec requires, and sequences grow per session.
 */
export interface LoggedEvent {
  streamId: string;
  seq: number;
  payload: string;
}

export class SseEventLog {
  private readonly events: LoggedEvent[] = [];
  private seq = 0;

  constructor(private readonly capacity: number) {}

  append(streamId: string, payload: string): LoggedEvent {
    const event = { streamId, seq: ++this.seq, payload };
    if (this.capacity > 0) {
      this.events.push(event);
      if (this.events.length > this.capacity) this.events.shift();
    }
    return event;
  }

  /** Events of `streamId` after sequence `afterSeq`, oldest first. */
  after(streamId: string, afterSeq: number): LoggedEvent[] {
    return this.events.filter((event) => event.streamId === streamId && event.seq > afterSeq);
  }

  static formatId(event: { streamId: string; seq: number }): string {
    return `${event.streamId}.${event.seq}`;
  }

  static parseId(id: string): { streamId: string; seq: number } | undefined {
    const match = /^([a-z0-9]+)\.(\d+)$/.exec(id);
    return match ? { streamId: match[1]!, seq: Number(match[2]) } : undefined;
  }
}
