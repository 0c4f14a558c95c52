import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * The folder holding Manifold's package.json, found from this file whether it runs
 * from source or from dist/. Defaults (data/, docs/, config/) are resolved against
 * it, never against the working directory a client happened to launch us from.
 */
export function packageRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    if (existsSync(join(dir, 'package.json')) && existsSync(join(dir, 'servers'))) return dir;
    const parent = dirname(dir);
    if (parent === dir) throw new Error('Cannot find the Manifold package root (package.json beside servers/).');
    dir = parent;
  }
}
