import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

/**
 * The service's version, from its package.json (the nearest one above this file, in the source
 * tree or in a compiled dist/), as /health and the OpenAPI document report it.
 */
function readVersion(): string {
  for (let dir = __dirname; dir !== dirname(dir); dir = dirname(dir)) {
    const file = join(dir, 'package.json');
    if (existsSync(file)) {
      const { name, version } = JSON.parse(readFileSync(file, 'utf8')) as {
        name?: string;
        version?: string;
      };
      if (name === 'pstn-tracker' && version) return version;
    }
  }
  return 'unknown';
}

export const VERSION = readVersion();
