// Copies the Lua scripts next to the compiled Redis broker (tsc only emits .js).
import { cpSync } from 'node:fs';

cpSync('src/brokers/redis/scripts', 'dist/brokers/redis/scripts', { recursive: true });
