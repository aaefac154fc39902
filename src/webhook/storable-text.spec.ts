import { describe, expect, it } from 'vitest';
import { storableText } from './storable-text';

describe('storableText', () => {
  it('returns ordinary text as it is, surrogate pairs included', () => {
    for (const text of ['', 'weekly sync', '会议 😀', 'C:\\u0000dir']) {
      expect(storableText(text)).toBe(text);
    }
  });

  it('writes a NUL and each lone surrogate as its JSON escape, keeping different texts apart', () => {
    expect(storableText('a\0b')).toBe('a\\u0000b');
    expect(storableText('\ud800-x')).toBe('\\ud800-x');
    expect(storableText('x-\udbff')).toBe('x-\\udbff');
    expect(storableText('\udc00😀\ud83d')).toBe('\\udc00😀\\ud83d');
    expect(storableText('\ud800')).not.toBe(storableText('\udbff'));
    expect(JSON.parse(`"${storableText('a\0\ud800')}"`)).toBe('a\0\ud800');
  });
});
