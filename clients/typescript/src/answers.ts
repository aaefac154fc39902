import type { Client, MethodResponse } from 'openapi-fetch';
import type { paths } from './schema';

/**
 * Names for the bodies the helpers take and give, all read from the generated document types,
 * so a change of the document shows here as a type error rather than at run time.
 */

/** The typed openapi-fetch client of the service's document. */
export type PstnTrackerApi = Client<paths>;

type MsOpenId = '/v1/meetings/{meetingId}/phone/ms-open-id';
type Actions = '/v1/meetings/{meetingId}/phone-callers/actions';

type JsonBody<Operation> = Operation extends {
  requestBody?: { content: { 'application/json': infer Body } };
}
  ? Body
  : never;

/** A phone number as the service takes it: each part a number or a digit string. */
export type PhoneNumber = JsonBody<paths[MsOpenId]['post']>['phone_numbers'][number];

/** One id of a number in the drop-in lookup's answer. */
export type LookupItem = NonNullable<
  MethodResponse<PstnTrackerApi, 'post', MsOpenId>['ms_open_id_list']
>[number];

export type ActionRequest = JsonBody<paths[Actions]['post']>;
export type ActionAnswer = MethodResponse<PstnTrackerApi, 'post', Actions>;
/** What came of one target: `done`, `not_connected` or `failed` (with Tencent's error). */
export type ActionResult = NonNullable<ActionAnswer['results']>[number];
