import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';

/**
 * `npm run dev`: the compiled service and the fake Tencent side by side, with the settings of
 * `.env` (or `.env.example`, whose TENCENT_API_BASE_URL points at this fake), so a newcomer can
 * drive it by hand with `npm run webhook`. Ctrl-C stops both.
 */
const children: ChildProcess[] = [];

function run(script: string): ChildProcess {
  const child = spawn(process.execPath, [join(__dirname, script)], { stdio: 'inherit' });
  child.once('exit', (code) => {
    if (code !== 0 && code !== null) console.error(`${script} exited with ${code}`);
    stopAll();
  });
  children.push(child);
  return child;
}

function stopAll(): void {
  for (const child of children) if (child.exitCode === null) child.kill('SIGTERM');
}

process.loadEnvFile(existsSync('.env') ? '.env' : '.env.example');
run('fake-tencent-main.js');
run('../../src/main.js');
process.once('SIGINT', stopAll);
process.once('SIGTERM', stopAll);
