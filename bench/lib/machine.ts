/** The machine and library versions, recorded in every result file. */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { cpus, type as osType, release, totalmem } from 'node:os';

const require = createRequire(import.meta.url);

function pkgVersion(spec: string): string {
  try {
    return (require(`${spec}/package.json`) as { version: string }).version;
  } catch {
    return 'not installed';
  }
}

export function machineInfo(): Record<string, string | number> {
  const cpu = cpus();
  return {
    cpuModel: cpu[0]?.model.trim() ?? 'unknown',
    cpus: cpu.length,
    memoryGiB: Math.round(totalmem() / 2 ** 30),
    os: `${osType()} ${release()}`,
    node: process.version,
  };
}

export function libraryVersions(): Record<string, string> {
  const own = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
    version: string;
  };
  return {
    errand: own.version,
    bullmq: pkgVersion('bullmq'),
    ioredis: pkgVersion('ioredis'),
    'bee-queue': pkgVersion('bee-queue'),
    '@redis/client': pkgVersion('@redis/client'),
  };
}
