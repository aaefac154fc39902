import type { DataSource } from 'typeorm';

/** The rows a hostile request must never add, change the number of, or remove. */
export interface RowCounts {
  webhook_events: number;
  tracked_numbers: number;
  api_clients: number;
}

export async function rowCounts(db: DataSource): Promise<RowCounts> {
  const [row] = await db.query<RowCounts[]>(
    `SELECT (SELECT count(*) FROM webhook_events)::int AS webhook_events,
            (SELECT count(*) FROM tracked_numbers)::int AS tracked_numbers,
            (SELECT count(*) FROM api_clients)::int AS api_clients`,
  );
  return row;
}

/**
 * A JSON text of `depth` nested arrays around `inner` ("[[[...]]]"), built as text: neither
 * JSON.stringify nor a parser is asked to walk it.
 */
export function nestedArrays(depth: number, inner = ''): string {
  return `${'['.repeat(depth)}${inner}${']'.repeat(depth)}`;
}
