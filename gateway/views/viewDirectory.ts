import { isDeepStrictEqual } from 'node:util';
import { SingleUpstreamView, type CatalogView, type UpstreamCatalog } from '../catalog/upstreamCatalog.js';
import type { Upstream } from '../upstreams/types.js';
import { CuratedView } from './curatedView.js';
import type { ViewSettings } from './viewSettings.js';

/** Which endpoint a view serves, in a form other instances can find it again by. */
export type ViewKey = { kind: 'aggregate' } | { kind: 'server'; namespace: string } | { kind: 'view'; name: string };

/** What a change of the configured views did, by view name. */
export interface ViewChanges {
  added: string[];
  changed: string[];
  removed: string[];
}

/**
 * Every view the gateway serves: the aggregate catalog (`/mcp`), one per upstream
 * (`/servers/{ns}/mcp`) and the curated views of the configuration (`/views/{name}/mcp`).
 */
export class ViewDirectory {
  private readonly single = new Map<string, SingleUpstreamView>();
  private readonly curated = new Map<string, CuratedView>();

  constructor(
    private readonly catalog: UpstreamCatalog,
    upstreams: readonly Upstream[],
  ) {
    for (const upstream of upstreams) this.single.set(upstream.namespace, new SingleUpstreamView(upstream, catalog));
  }

  /** The aggregate (no namespace) or one upstream's view. */
  view(namespace: string | undefined): CatalogView | undefined {
    return namespace === undefined ? this.catalog : this.single.get(namespace);
  }

  curatedView(name: string): CuratedView | undefined {
    return this.curated.get(name);
  }

  curatedViewNames(): string[] {
    return [...this.curated.keys()];
  }

  /**
   * Put a configuration's curated views in place (at start and on reload). A changed view is
   * changed in place, so sessions that hold it see the change; a removed one goes inactive.
   */
  apply(views: readonly ViewSettings[]): ViewChanges {
    const outcome: ViewChanges = { added: [], changed: [], removed: [] };
    const wanted = new Map(views.map((view) => [view.name, view]));
    for (const [name, view] of this.curated) {
      const next = wanted.get(name);
      if (!next) {
        view.active = false;
        this.curated.delete(name);
        outcome.removed.push(name);
      } else if (!isDeepStrictEqual(next, view.settings)) {
        view.settings = next;
        outcome.changed.push(name);
      }
    }
    for (const [name, settings] of wanted) {
      if (this.curated.has(name)) continue;
      this.curated.set(name, new CuratedView(settings, this.catalog));
      outcome.added.push(name);
    }
    return outcome;
  }

  keyOf(view: CatalogView): ViewKey {
    if (view instanceof CuratedView) return { kind: 'view', name: view.name };
    return view.namespace === undefined ? { kind: 'aggregate' } : { kind: 'server', namespace: view.namespace };
  }

  byKey(key: ViewKey): CatalogView | undefined {
    if (key.kind === 'aggregate') return this.catalog;
    if (key.kind === 'server') return this.single.get(key.namespace);
    return this.curated.get(key.name);
  }
}
