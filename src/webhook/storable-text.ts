/**
 * What Postgres text refuses or changes: a NUL (refused, 22021) and a lone UTF-16 surrogate
 * (sent as UTF-8, it becomes U+FFFD, so two different strings would arrive the same).
 */
const UNSTORABLE = /\0|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;
const HAS_UNSTORABLE = new RegExp(UNSTORABLE.source);

/**
 * The text as Postgres can keep it, losslessly: each unstorable character becomes its JSON
 * escape (`\u0000`, `\ud800`), as it stood in the event Tencent sent. Ordinary text is returned
 * as it is.
 */
export function storableText(text: string): string {
  if (!HAS_UNSTORABLE.test(text)) return text;
  return text.replace(
    UNSTORABLE,
    (char) => `\\u${char.charCodeAt(0).toString(16).padStart(4, '0')}`,
  );
}
