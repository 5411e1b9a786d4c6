/** Path helpers: relative paths in a config file are relative to that file's directory. */
import { isAbsolute, resolve } from 'node:path';

/** Resolves `p` against `dir`; the empty string stays empty (it means "unset"). */
export const resolveFrom = (dir: string, p: string): string =>
  p === '' || isAbsolute(p) ? p : resolve(dir, p);
