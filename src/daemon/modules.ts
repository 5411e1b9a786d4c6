/**
 * Loads the config's `modules`. TypeScript modules need a loader on Node 20: when Errand runs
 * from its sources one is registered already; when it is installed from npm (compiled) the
 * daemon registers tsx if tsx can be found from the config's directory, the working directory
 * or Errand's own, and otherwise refuses the module with the fix in the message (also in `-t`).
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Errand } from '../core/errand.ts';

export const isTypeScript = (file: string): boolean => /\.[cm]?tsx?$/i.test(file);

/** True when this process can import .ts files already (Errand's sources run under tsx, or Node strips types). */
function loaderPresent(): boolean {
  const features = process.features as { typescript?: unknown };
  return Boolean(features.typescript) || import.meta.url.endsWith('.ts');
}

/** The file URL of tsx's ESM register API, found from the first of `dirs` that has tsx. */
export function findTsx(dirs: readonly string[]): string | undefined {
  for (const dir of dirs) {
    try {
      const pkgFile = createRequire(join(dir, 'noop.js')).resolve('tsx/package.json');
      const pkg = JSON.parse(readFileSync(pkgFile, 'utf8')) as {
        exports?: Record<string, { import?: string | { default?: string } } | undefined>;
      };
      const entry = pkg.exports?.['./esm/api']?.import;
      const file = typeof entry === 'string' ? entry : entry?.default;
      if (file) return pathToFileURL(join(dirname(pkgFile), file)).href;
    } catch {
      // Not installed there.
    }
  }
  return undefined;
}

/** Where tsx is looked for, in order. */
export const tsxSearchDirs = (configDir: string): string[] => [
  configDir,
  process.cwd(),
  dirname(new URL(import.meta.url).pathname),
];

/**
 * The problem with loading TypeScript modules here, or undefined when they can be loaded.
 * `where` is for tests: whether a loader is registered, and the directories to look for tsx in.
 */
export function typeScriptProblem(
  configDir: string,
  where: { present?: boolean; dirs?: readonly string[] } = {},
): string | undefined {
  if (where.present ?? loaderPresent()) return undefined;
  if (findTsx(where.dirs ?? tsxSearchDirs(configDir))) return undefined;
  return `is TypeScript, which Node ${process.version} cannot load by itself: install tsx where the config is (npm install --save-dev tsx), or compile the module to .js`;
}

let registered = false;

async function ensureTypeScript(configDir: string): Promise<void> {
  if (registered || loaderPresent()) return;
  const api = findTsx(tsxSearchDirs(configDir));
  if (!api) throw new Error(typeScriptProblem(configDir));
  const { register } = (await import(api)) as { register: () => unknown };
  register();
  registered = true;
}

/** Imports each module and calls its default (or `register`) export with the Errand instance. */
export async function loadModules(
  errand: Errand,
  modules: readonly string[],
  configDir: string,
): Promise<void> {
  for (const [i, file] of modules.entries()) {
    if (isTypeScript(file)) {
      try {
        await ensureTypeScript(configDir);
      } catch (err) {
        throw new Error(`modules[${i}]: ${file} ${(err as Error).message}`);
      }
    }
    const mod = (await import(pathToFileURL(file).href)) as { default?: unknown; register?: unknown };
    const register = typeof mod.default === 'function' ? mod.default : mod.register;
    if (typeof register !== 'function') {
      throw new Error(
        `modules[${i}]: ${file} must export a default function (errand) => void that defines its tasks`,
      );
    }
    await (register as (e: Errand) => unknown)(errand);
  }
}
