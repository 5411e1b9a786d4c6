/**
 * Errand as npm ships it: the build output in dist/, which is what users run (the other systems
 * run their published JavaScript too). Loading src/ through tsx instead adds esbuild's keepNames
 * wrappers (`__name`) around closures made on the hot path, about a fifth more producer CPU that
 * no user pays. dist/ is built first when it is missing or older than src/; the types are src/'s.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type * as ErrandApi from '../../src/index.ts';
import type * as ResqueApi from '../../src/resque/index.ts';

const root = fileURLToPath(new URL('../../', import.meta.url));

function newestMtime(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestMtime(path) : statSync(path).mtimeMs);
  }
  return newest;
}

function ensureBuilt(): void {
  const entry = join(root, 'dist/index.js');
  if (existsSync(entry) && statSync(entry).mtimeMs >= newestMtime(join(root, 'src'))) return;
  process.stderr.write('bench: building dist/ (the benchmark measures the build output)\n');
  // The child's output goes to stderr: stdout may be the benchmark's JSON lines.
  execFileSync('npm', ['run', 'build', '--silent'], { cwd: root, stdio: ['ignore', 2, 2] });
}

ensureBuilt();

export const { Errand } = (await import(join(root, 'dist/index.js'))) as typeof ErrandApi;
export type Errand = ErrandApi.Errand;
export const { resque } = (await import(join(root, 'dist/resque/index.js'))) as typeof ResqueApi;
