import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';

/**
 * The documents other services and operators read point only at what the repository holds: a
 * link to a file outside it, or to one since moved, is a dead end for whoever follows it.
 */
const root = join(__dirname, '..');
const DOCUMENTS = [
  'README.md',
  'CHANGELOG.md',
  'docs/http-contract.md',
  'clients/typescript/README.md',
];

/** The relative targets of a markdown document's links, without their #fragment. */
function relativeLinks(file: string): string[] {
  const text = readFileSync(join(root, file), 'utf8');
  return [...text.matchAll(/\]\(([^)\s]+)\)/g)]
    .map((match) => match[1].split('#')[0])
    .filter((target) => target !== '' && !/^[a-z]+:/i.test(target));
}

describe('the documents', () => {
  it.each(DOCUMENTS)('%s links only to files of the repository that exist', (file) => {
    for (const target of relativeLinks(file)) {
      const path = join(root, dirname(file), target);
      expect(path.startsWith(`${root}/`), `${file} -> ${target}`).toBe(true);
      expect(existsSync(path), `${file} -> ${target}`).toBe(true);
    }
  });

  it('link the HTTP contract and the OpenAPI document from the README', () => {
    expect(relativeLinks('README.md')).toEqual(
      expect.arrayContaining(['docs/http-contract.md', 'docs/openapi.json']),
    );
    expect(relativeLinks('docs/http-contract.md')).toEqual(
      expect.arrayContaining(['openapi.json']),
    );
  });

  it.each(DOCUMENTS)('%s names no design document kept outside the repository', (file) => {
    expect(readFileSync(join(root, file), 'utf8')).not.toMatch(/architecture\.md|\.\.\/shared\//);
  });
});
