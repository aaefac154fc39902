import { ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { IsInt, IsOptional, Max, Min } from 'class-validator';
import type { DataSource } from 'typeorm';
import { answer, COUNT } from './answer-schemas';
import type { ErrorCase } from './error-responses';
import type { JsonSchema } from './schema-validation';

/** Pages beyond this would skip more rows than any table holds (and overflow OFFSET). */
const MAX_PAGE = 1_000_000;

/** `page` from 1, `page_size` 50 by default and 500 at most. */
export class PagingDto {
  @ApiPropertyOptional({ type: 'integer', default: 1, minimum: 1, maximum: MAX_PAGE })
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(MAX_PAGE)
  page: number = 1;

  @ApiPropertyOptional({ type: 'integer', default: 50, minimum: 1, maximum: 500 })
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(500)
  page_size: number = 50;
}

export interface Page<T> {
  items: T[];
  page: number;
  page_size: number;
  total: number;
}

/** The schema of a Page of `items`, as the OpenAPI document shows a list. */
export function pageSchema(items: JsonSchema): JsonSchema {
  return answer({
    items: { type: 'array', items },
    page: { type: 'integer', minimum: 1 },
    page_size: { type: 'integer', minimum: 1, maximum: 500 },
    total: { ...COUNT, description: 'Rows matching the filters, on every page' },
  });
}

/** The 400 of a list whose query breaks its rules, as the document shows it. */
export const BAD_QUERY: ErrorCase = {
  code: 'bad_request',
  message: 'page must not be less than 1',
  when: 'the query breaks its rules (a page beyond 1000000, a value outside its enum, a date that does not exist, a property the route does not take); the message names the field',
};

export function page<T>(items: T[], total: number, paging: PagingDto): Page<T> {
  return { items, page: paging.page, page_size: paging.page_size, total };
}

/** Runs `sql` (a SELECT with its ORDER BY) for one page, and counts all its rows. */
export async function pagedQuery<T>(
  db: DataSource,
  sql: string,
  params: unknown[],
  paging: PagingDto,
): Promise<Page<T>> {
  const [rows, [{ total }]] = await Promise.all([
    db.query<T[]>(`${sql} LIMIT $${params.length + 1} OFFSET $${params.length + 2}`, [
      ...params,
      paging.page_size,
      (paging.page - 1) * paging.page_size,
    ]),
    db.query<{ total: string }[]>(`SELECT count(*) AS total FROM (${sql}) counted`, params),
  ]);
  return page(rows, Number(total), paging);
}
