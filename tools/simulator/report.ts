import type { CheckResult } from './player';

/** The lookup API's answers beside the truth, one line per number and check. */
export function formatTable(results: CheckResult[]): string {
  const lines = results.flatMap((result) =>
    result.kind === 'lookup'
      ? result.rows.map((row) => [
          result.name,
          String(row.meeting),
          row.caller,
          row.number,
          row.truth,
          row.lookup,
          row.participants,
          row.ok ? 'ok' : 'WRONG',
        ])
      : [],
  );
  return markdown(
    [
      'check',
      'meeting',
      'caller',
      'number',
      'truth (ms_open_id status)',
      'POST ms-open-id answered',
      'GET pstn-participants answered',
      '',
    ],
    lines,
  );
}

/** What Tencent holds after the actions beside the truth, one line per number acted on. */
export function formatControlTable(results: CheckResult[]): string {
  const lines = results.flatMap((result) =>
    result.kind === 'control'
      ? result.rows.map((row) => [
          String(row.meeting),
          row.caller,
          row.number,
          row.action,
          row.truth,
          row.answered,
          row.tencent,
          row.replay,
          row.ok ? 'ok' : 'WRONG',
        ])
      : [],
  );
  return markdown(
    [
      'meeting',
      'caller',
      'number',
      'action',
      'truth (connected calls)',
      'service answered',
      'Tencent holds',
      'same Idempotency-Key again',
      '',
    ],
    lines,
  );
}

export function countWrong(results: CheckResult[]): { wrong: number; total: number } {
  const rows = results.flatMap((result): { ok: boolean }[] => result.rows);
  return { wrong: rows.filter((row) => !row.ok).length, total: rows.length };
}

/** An aligned Markdown table. */
function markdown(header: string[], lines: string[][]): string {
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
