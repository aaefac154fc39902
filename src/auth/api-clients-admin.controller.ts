import {
  Body,
  Controller,
  Delete,
  Get,
  HttpCode,
  Param,
  ParseUUIDPipe,
  Post,
  Query,
} from '@nestjs/common';
import { RouteSchema } from '@nestjs/platform-fastify';
import {
  ApiBody,
  ApiCreatedResponse,
  ApiNoContentResponse,
  ApiOkResponse,
  ApiOperation,
  ApiParam,
  ApiTags,
} from '@nestjs/swagger';
import { ApiErrors } from '../common/error-responses';
import { BAD_QUERY, page, PagingDto } from '../common/paging';
import type { JsonSchema } from '../common/schema-validation';
import { ApiError } from '../common/api-error';
import { SCOPES, type ApiClient, type Scope } from './api-client.entity';
import {
  BAD_CLIENT,
  BAD_CLIENT_ID,
  CLIENT_NOT_FOUND,
  CLIENTS_EXAMPLE,
  CLIENTS_PAGE,
  CREATED_CLIENT,
  CREATED_CLIENT_EXAMPLE,
} from './api-client-answers';
import { ApiClientsService } from './api-clients.service';
import { RequireScope } from './require-scope';

const NAME_SCHEMA: JsonSchema = {
  type: 'string',
  minLength: 1,
  maxLength: 100,
  // No control character (Postgres text refuses a NUL) and no lone surrogate (it would be kept
  // as U+FFFD, another name than the one given).
  pattern: '^[^\\x00-\\x1f\\x7f\\p{Cs}]+$',
  'x-error-message':
    'must be 1 to 100 characters, none of them a control character or a lone surrogate',
  example: 'meeting-control',
};

/** The body of a new client, validated by Fastify before anything walks it. */
const CREATE_BODY: JsonSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['name', 'scopes'],
  properties: {
    name: NAME_SCHEMA,
    scopes: {
      type: 'array',
      minItems: 1,
      maxItems: SCOPES.length,
      items: { type: 'string', enum: [...SCOPES] },
      example: ['lookup'],
    },
  },
};

const view = (client: ApiClient) => ({
  id: client.id,
  name: client.name,
  scopes: client.scopes,
  created_at: client.createdAt,
  revoked_at: client.revokedAt,
  last_used_at: client.lastUsedAt,
});

@ApiTags('admin')
@RequireScope('admin')
@Controller('admin/api-clients')
export class ApiClientsAdminController {
  constructor(private readonly clients: ApiClientsService) {}

  @Post()
  @ApiOperation({ summary: 'Create an API client; its token is shown this once' })
  @ApiCreatedResponse({
    description: 'The client, with its token',
    schema: CREATED_CLIENT,
    example: CREATED_CLIENT_EXAMPLE,
  })
  @ApiErrors({ 400: BAD_CLIENT })
  @RouteSchema({ body: CREATE_BODY })
  @ApiBody({ schema: CREATE_BODY })
  async create(@Body() body: { name: string; scopes: Scope[] }) {
    const { client, token } = await this.clients.create(body.name, [...new Set(body.scopes)]);
    return { ...view(client), token };
  }

  @Get()
  @ApiOperation({ summary: 'List API clients (never their tokens)' })
  @ApiOkResponse({
    description: 'A page of clients, newest first (revoked ones too)',
    schema: CLIENTS_PAGE,
    example: CLIENTS_EXAMPLE,
  })
  @ApiErrors({ 400: BAD_QUERY })
  async list(@Query() paging: PagingDto) {
    const [clients, total] = await this.clients.list(paging.page, paging.page_size);
    return page(clients.map(view), total, paging);
  }

  @Delete(':id')
  @HttpCode(204)
  @ApiOperation({ summary: 'Revoke an API client: its token stops working at once' })
  @ApiParam({ name: 'id', schema: { type: 'string', format: 'uuid' } })
  @ApiNoContentResponse({ description: 'Revoked (already revoked is no error)' })
  @ApiErrors({ 400: BAD_CLIENT_ID, 404: CLIENT_NOT_FOUND })
  async revoke(@Param('id', new ParseUUIDPipe()) id: string): Promise<void> {
    if (!(await this.clients.revoke(id))) {
      throw ApiError.of(404, CLIENT_NOT_FOUND);
    }
  }
}
