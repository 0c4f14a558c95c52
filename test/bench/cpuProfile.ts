/**
 * Reads a V8 CPU profile (`node --cpu-prof`) and answers where the time went: self time per
 * function, time per origin (our code, the MCP SDK, zod, Node core, GC…) and the inclusive time
 * under chosen functions. Only samples inside a time window count, so that a server's start-up
 * and warm-up do not blur the figures for the load that was measured.
 */
import { readFileSync } from 'node:fs';

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
}

interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  children?: number[];
}

interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

export interface TimeEntry {
  name: string;
  origin: string;
  ms: number;
}

export interface ProfileSummary {
  /** Milliseconds of samples in the window, idle excluded (CPU the process spent). */
  busyMs: number;
  idleMs: number;
  samples: number;
  self: TimeEntry[];
  origins: TimeEntry[];
  /** Milliseconds of samples with a frame matching `match` on their stack (recursion counted once). */
  inclusive(match: (functionName: string, url: string) => boolean): number;
  /** The samples under a matching frame, by the origin of the function that was running. */
  originsUnder(match: (functionName: string, url: string) => boolean): TimeEntry[];
}

/** Where a function comes from, for grouping: a package, Manifold's own code, Node core or V8 itself. */
export function originOf(url: string, functionName: string): string {
  if (url === '') return functionName.startsWith('(') ? functionName : 'V8 builtins / native';
  if (url.startsWith('node:')) return 'Node.js core';
  const pkg = /\/node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(url)?.[1];
  if (pkg) return pkg;
  const own = /\/dist\/(servers\/[^/]+|shared)\//.exec(url)?.[1];
  if (own) return `Manifold ${own}`;
  return url.replace(/^file:\/\//, '');
}

function frameName(frame: CallFrame): string {
  const file = frame.url
    .replace(/^file:\/\//, '')
    .replace(/^.*\/node_modules\//, '')
    .replace(/^.*\/dist\//, '');
  return file ? `${frame.functionName || '(anonymous)'} ${file}:${frame.lineNumber + 1}` : frame.functionName || '(anonymous)';
}

/**
 * Summarise a profile. `window` bounds are microseconds on the monotonic clock, the clock of both
 * V8's profile timestamps and `process.hrtime` (so a bench can mark the window from outside the
 * profiled process); without a window every sample counts.
 */
export function summariseProfile(file: string, window?: { fromUs: number; toUs: number }): ProfileSummary {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const parent = new Map<number, number>();
  for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node.id);
  // The stack of a node, leaf first: computed once per node, since most samples share nodes.
  const stacks = new Map<number, CallFrame[]>();
  const stackOf = (id: number): CallFrame[] => {
    let stack = stacks.get(id);
    if (!stack) {
      stack = [];
      for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) {
        const node = byId.get(at);
        if (node) stack.push(node.callFrame);
      }
      stacks.set(id, stack);
    }
    return stack;
  };

  // Each sample stands for the time until the next one (as Chrome's profiler view counts it).
  const counted: Array<{ node: number; ms: number }> = [];
  let at = profile.startTime;
  for (let i = 0; i < profile.samples.length; i++) {
    at += profile.timeDeltas[i] ?? 0;
    const ms = (profile.timeDeltas[i + 1] ?? 0) / 1000;
    if (window && (at < window.fromUs || at > window.toUs)) continue;
    counted.push({ node: profile.samples[i]!, ms });
  }

  const self = new Map<string, TimeEntry>();
  const origins = new Map<string, number>();
  let busyMs = 0;
  let idleMs = 0;
  for (const { node, ms } of counted) {
    const frame = byId.get(node)!.callFrame;
    if (frame.functionName === '(idle)') {
      idleMs += ms;
      continue;
    }
    busyMs += ms;
    const name = frameName(frame);
    const entry = self.get(name) ?? { name, origin: originOf(frame.url, frame.functionName), ms: 0 };
    entry.ms += ms;
    self.set(name, entry);
    origins.set(entry.origin, (origins.get(entry.origin) ?? 0) + ms);
  }
  const sorted = (entries: Iterable<TimeEntry>): TimeEntry[] => [...entries].sort((a, b) => b.ms - a.ms);
  const under = (match: (functionName: string, url: string) => boolean) =>
    counted.filter(({ node }) => stackOf(node).some((f) => match(f.functionName, f.url)));

  return {
    busyMs,
    idleMs,
    samples: counted.length,
    self: sorted(self.values()),
    origins: sorted([...origins].map(([origin, ms]) => ({ name: origin, origin, ms }))),
    inclusive: (match) => under(match).reduce((sum, s) => sum + s.ms, 0),
    originsUnder: (match) => {
      const totals = new Map<string, number>();
      for (const { node, ms } of under(match)) {
        const leaf = byId.get(node)!.callFrame;
        const origin = originOf(leaf.url, leaf.functionName);
        totals.set(origin, (totals.get(origin) ?? 0) + ms);
      }
      return sorted([...totals].map(([origin, ms]) => ({ name: origin, origin, ms })));
    },
  };
}
