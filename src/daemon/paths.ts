/** Path helpers: relative paths in a config file are relative to that file's directory. */
import { existsSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';

/** Resolves `p` against `dir`; the empty string stays empty (it means "unset"). */
export const resolveFrom = (dir: string, p: string): string =>
  p === '' || isAbsolute(p) ? p : resolve(dir, p);

/** Config files looked for in the working directory when none is named, first found wins. */
export const DEFAULT_CONFIGS = [
  'errand.toml',
  'errand.yaml',
  'errand.yml',
  'errand.json',
  'gordon.config.toml',
  'goophry.config.json',
] as const;

/** The first default config file present in the working directory, if any. */
export const findDefaultConfig = (): string | undefined => DEFAULT_CONFIGS.find((f) => existsSync(f));
