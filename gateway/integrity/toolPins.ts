import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { Tool } from '@modelcontextprotocol/sdk/types.js';
import { z } from 'zod';
import { INTEGRITY_POLICIES, type IntegrityPolicy } from '../upstreams/upstreamSettings.js';
import { describeChange, fingerprint, pinnedDefinition, type PinnedDefinition } from './toolFingerprint.js';

export { INTEGRITY_POLICIES, type IntegrityPolicy };

/** Where a gateway keeps its pins, under its data directory. */
export function toolPinsFile(dataDir: string): string {
  return join(dataDir, 'integrity', 'tool-pins.json');
}

const definitionSchema = z.object({
  name: z.string(),
  title: z.string().optional(),
  description: z.string().optional(),
  inputSchema: z.unknown(),
  outputSchema: z.unknown().optional(),
  annotations: z.unknown().optional(),
});
const pinSchema = z.object({ fingerprint: z.string(), definition: definitionSchema, pinnedAt: z.string() });
const pendingSchema = z.object({ fingerprint: z.string(), definition: definitionSchema, seenAt: z.string(), changes: z.array(z.string()) });
const fileSchema = z.object({
  version: z.literal(1),
  upstreams: z.record(z.string(), z.object({ pinned: z.record(z.string(), pinSchema), pending: z.record(z.string(), pendingSchema) })),
});
type PinFile = z.infer<typeof fileSchema>;

export interface ToolChange {
  namespace: string;
  tool: string;
  fingerprint: string;
  changes: string[];
}

export interface Review {
  /** The tools to serve. */
  serve: Tool[];
  /** Changed tools held back until approved. */
  withheld: ToolChange[];
  /** Changes seen for the first time in this review (to log and audit once). */
  newlyChanged: ToolChange[];
  /** Tools pinned for the first time. */
  newlyPinned: string[];
}

/**
 * Fingerprints of every tool each upstream advertised, persisted in the data directory so
 * they survive restarts. Written atomically (temporary file, then rename); re-read before
 * every review so approvals made by the command line take effect.
 */
export class ToolPins {
  constructor(
    readonly file: string,
    private readonly now: () => Date = () => new Date(),
  ) {}

  private read(): PinFile {
    let raw: string;
    try {
      raw = readFileSync(this.file, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return { version: 1, upstreams: {} };
      throw error;
    }
    const parsed = fileSchema.safeParse(JSON.parse(raw));
    if (!parsed.success)
      throw new Error(`${this.file}: not a tool pin file (${parsed.error.issues[0]?.message ?? 'invalid'}). Move it aside to start pinning afresh.`);
    return parsed.data;
  }

  private write(data: PinFile): void {
    mkdirSync(dirname(this.file), { recursive: true });
    const temporary = `${this.file}.${process.pid}.tmp`;
    writeFileSync(temporary, `${JSON.stringify(data, null, 2)}\n`, { mode: 0o600 });
    renameSync(temporary, this.file);
  }

  /** Compare what an upstream advertises with its pins, and decide what to serve. */
  review(namespace: string, tools: readonly Tool[], policy: IntegrityPolicy): Review {
    const data = this.read();
    const entry = (data.upstreams[namespace] ??= { pinned: {}, pending: {} });
    const at = this.now().toISOString();
    const review: Review = { serve: [], withheld: [], newlyChanged: [], newlyPinned: [] };
    let dirty = false;
    for (const tool of tools) {
      const print = fingerprint(tool);
      const definition = pinnedDefinition(tool);
      const pin = entry.pinned[tool.name];
      if (!pin) {
        entry.pinned[tool.name] = { fingerprint: print, definition, pinnedAt: at };
        review.newlyPinned.push(tool.name);
        review.serve.push(tool);
        dirty = true;
        continue;
      }
      if (pin.fingerprint === print) {
        if (entry.pending[tool.name]) {
          delete entry.pending[tool.name]; // the upstream went back to the approved definition
          dirty = true;
        }
        review.serve.push(tool);
        continue;
      }
      const change: ToolChange = { namespace, tool: tool.name, fingerprint: print, changes: describeChange(pin.definition as PinnedDefinition, definition) };
      if (policy === 'accept') {
        entry.pinned[tool.name] = { fingerprint: print, definition, pinnedAt: at };
        delete entry.pending[tool.name];
        review.serve.push(tool);
        review.newlyChanged.push(change);
        dirty = true;
        continue;
      }
      if (entry.pending[tool.name]?.fingerprint !== print) {
        entry.pending[tool.name] = { fingerprint: print, definition, seenAt: at, changes: change.changes };
        review.newlyChanged.push(change);
        dirty = true;
      }
      if (policy === 'warn') review.serve.push(tool);
      else review.withheld.push(change);
    }
    if (dirty) this.write(data);
    return review;
  }

  /** Changes waiting for approval, per upstream. */
  pending(): ToolChange[] {
    const data = this.read();
    return Object.entries(data.upstreams).flatMap(([namespace, entry]) =>
      Object.entries(entry.pending).map(([tool, p]) => ({ namespace, tool, fingerprint: p.fingerprint, changes: p.changes })),
    );
  }

  /** Approve pending changes: of one tool, or of every tool of an upstream. Returns what was approved. */
  approve(namespace: string, tool?: string): string[] {
    const data = this.read();
    const entry = data.upstreams[namespace];
    if (!entry) return [];
    const names = tool ? [tool].filter((t) => entry.pending[t]) : Object.keys(entry.pending);
    const at = this.now().toISOString();
    for (const name of names) {
      const pending = entry.pending[name]!;
      entry.pinned[name] = { fingerprint: pending.fingerprint, definition: pending.definition, pinnedAt: at };
      delete entry.pending[name];
    }
    if (names.length > 0) this.write(data);
    return names;
  }
}
