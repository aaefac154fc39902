import type { CheckResult } from './player';

/** The answers beside the truth, one line per number and check, as an aligned Markdown table. */
export function formatTable(results: CheckResult[]): string {
  const header = [
    'check',
    'meeting',
    'caller',
    'number',
    'truth (ms_open_id status)',
    'POST ms-open-id answered',
    'GET pstn-participants answered',
    '',
  ];
  const lines = results.flatMap(({ name, rows }) =>
    rows.map((row) => [
      name,
      String(row.meeting),
      row.caller,
      row.number,
      row.truth,
      row.lookup,
      row.participants,
      row.ok ? 'ok' : 'WRONG',
    ]),
  );
  const widths = header.map((title, column) =>
    Math.max(title.length, ...lines.map((line) => line[column].length)),
  );
  const format = (cells: string[]) =>
    `| ${cells.map((cell, column) => cell.padEnd(widths[column])).join(' | ')} |`;
  return [
    format(header),
    `|${widths.map((width) => '-'.repeat(width + 2)).join('|')}|`,
    ...lines.map(format),
  ].join('\n');
}

export function countWrong(results: CheckResult[]): { wrong: number; total: number } {
  const rows = results.flatMap((result) => result.rows);
  return { wrong: rows.filter((row) => !row.ok).length, total: rows.length };
}
