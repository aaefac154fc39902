import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

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

/**
 * Starts `node [...nodeArgs] <script>` of a compiled build, in its folder with `env` only, and
 * waits until `readyUrl` answers 200 (30 s at most, failing at once if the process exits).
 */
export async function startCompiled(
  outDir: string,
  script: string,
  env: Record<string, string>,
  readyUrl: string,
  nodeArgs: string[] = [],
): Promise<ChildProcess> {
  const child = spawn(process.execPath, [...nodeArgs, join(outDir, script)], {
    cwd: outDir,
    env: { PATH: process.env.PATH, ...env },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  const deadline = Date.now() + 30_000;
  while ((await fetch(readyUrl).catch(() => null))?.status !== 200) {
    if (child.exitCode !== null) throw new Error(`${script} exited with ${child.exitCode}`);
    if (Date.now() > deadline) throw new Error(`${script} was not ready in 30 s`);
    await sleep(200);
  }
  return child;
}

/** SIGTERM, then waits for the exit (at once if it has exited already). */
export async function stopProcess(child: ChildProcess | undefined): Promise<void> {
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  await exited;
}
