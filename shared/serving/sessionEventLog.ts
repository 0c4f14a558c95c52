import type { EventStore, JSONRPCMessage } from '@modelcontextprotocol/server';

/**
 * The last messages a 2025-era session sent on each of its SSE streams, so that a client that
 * lost a stream can resume it with Last-Event-ID (MCP 2025-11-25 basic/transports,
 * "Resumability and Redelivery"). In memory and bounded: a client that comes back after more
 * than `maxEvents` messages, or after the process restarted, starts over.
 */
export class SessionEventLog implements EventStore {
  private readonly events: Array<{ id: string; streamId: string; message: JSONRPCMessage }> = [];
  private sequence = 0;

  constructor(private readonly maxEvents = 1000) {}

  async storeEvent(streamId: string, message: JSONRPCMessage): Promise<string> {
    const id = `${streamId}_${++this.sequence}`;
    this.events.push({ id, streamId, message });
    if (this.events.length > this.maxEvents) this.events.shift();
    return id;
  }

  async getStreamIdForEventId(eventId: string): Promise<string | undefined> {
    return this.events.find((event) => event.id === eventId)?.streamId ?? streamOf(eventId);
  }

  async replayEventsAfter(lastEventId: string, { send }: { send: (eventId: string, message: JSONRPCMessage) => Promise<void> }): Promise<string> {
    const streamId = streamOf(lastEventId);
    if (streamId === undefined) throw new Error(`Unknown event id "${lastEventId}": reconnect without Last-Event-ID.`);
    const index = this.events.findIndex((event) => event.id === lastEventId);
    for (const event of this.events.slice(index + 1)) if (event.streamId === streamId) await send(event.id, event.message);
    return streamId;
  }
}

function streamOf(eventId: string): string | undefined {
  const cut = eventId.lastIndexOf('_');
  return cut > 0 ? eventId.slice(0, cut) : undefined;
}
