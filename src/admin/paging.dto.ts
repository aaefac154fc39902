import { ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { IsInt, IsOptional, Max, Min } from 'class-validator';

/** `page` from 1, `page_size` 50 by default and 500 at most. */
export class PagingDto {
  @ApiPropertyOptional({ default: 1, minimum: 1 })
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  page: number = 1;

  @ApiPropertyOptional({ default: 50, minimum: 1, maximum: 500 })
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

export function page<T>(items: T[], total: number, paging: PagingDto): Page<T> {
  return { items, page: paging.page, page_size: paging.page_size, total };
}
