import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync } from 'node:fs';
import { join } from 'node:path';

const ROOT = join(__dirname, '../..');

/**
 * The service and its tools compiled on their own (tsconfig.build.json), for specs that run
 * them as processes, as production does; other builds in the repository cannot disturb it.
 * Answers the output folder (the caller removes it).
 */
export function compileProject(): string {
  // Inside the repository's node_modules, so the build resolves the installed packages.
  const cache = join(ROOT, 'node_modules/.cache');
  mkdirSync(cache, { recursive: true });
  const outDir = mkdtempSync(join(cache, 'build-'));
  // Its own build-info file: the one beside dist/ would make tsc skip files built there.
  execFileSync(
    'npx',
    [
      'tsc',
      '-p',
      'tsconfig.build.json',
      '--outDir',
      outDir,
      '--tsBuildInfoFile',
      join(outDir, 'tsbuildinfo'),
    ],
    { cwd: ROOT },
  );
  return outDir;
}
