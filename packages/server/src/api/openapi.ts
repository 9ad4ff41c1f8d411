import fastifySwagger, { type SwaggerTransform } from '@fastify/swagger';
import { type ErrorCode, ErrorCodes } from '@roomcast/protocol';
import type { FastifyInstance, FastifySchema } from 'fastify';
import { z } from 'zod';

/**
 * The HTTP API's OpenAPI 3.1 document, generated from the routes by @fastify/swagger, served at
 * `GET /v1/openapi.json` and rendered as docs/api.md by `npm run docs:api`.
 *
 * Routes check their input themselves (zod and the services), answering the catalogue's codes
 * with messages that name the field. So a route's description never goes into its Fastify
 * `schema`: Fastify would validate `schema.body` with Ajv and answer its own 400s, and serialize
 * answers by `schema.response`, dropping unlisted fields. It rides in `config.swaggerTransform`,
 * which only swagger calls, when it builds the document.
 */

/** The document's tags, in the order docs/api.md lists them. */
export const API_TAGS = [
  { name: 'rooms', description: 'Start, read, list and end rooms; which gateways serve a room.' },
  {
    name: 'events',
    description: 'Time-series events: publish, and cursor pull for clients without a WebSocket.',
  },
  { name: 'state', description: "State sync: a room's named partials with versions." },
  { name: 'peers', description: "Peer signals to chosen users, and each user's inbox." },
  { name: 'moderation', description: 'Mute, unmute, kick and ban, by the host or an admin.' },
  { name: 'gifts', description: 'The gift catalogue, sending gifts, balances and settlements.' },
  { name: 'admin', description: "Operations for admins: the dashboard's data, draining a gateway." },
  { name: 'ops', description: 'Health, readiness, metrics and this document; no token needed.' },
  { name: 'dev', description: 'Only on a server in dev mode (`roomcast dev`).' },
] as const;

export type ApiTag = (typeof API_TAGS)[number]['name'];

/** A success answer: what it means, its JSON body (none when absent) and the headers it sets. */
export interface Answer {
  description: string;
  body?: z.ZodType;
  /** The body's media type when it is not JSON (`/metrics`). */
  mediaType?: string;
  headers?: Readonly<Record<string, string>>;
}

/** One error a route can answer: its catalogue code and when. */
export type ErrorCase = readonly [code: ErrorCode, when: string];

export interface RouteDocInput {
  tag: ApiTag;
  summary: string;
  description?: string;
  /** `bearer` (default): the route needs `Authorization: Bearer <token>`, else 401. */
  auth?: 'bearer' | 'none';
  params?: z.ZodObject;
  query?: z.ZodObject;
  headers?: z.ZodObject;
  body?: z.ZodType;
  /** Success answers by status. */
  answers: Readonly<Record<number, Answer>>;
  /** What the route itself can refuse; those every route shares are added (see `commonErrors`). */
  errors?: readonly ErrorCase[];
}

/**
 * A route's entry in the OpenAPI document, as route options: `app.get(path, routeDoc({…}), handler)`.
 * Nothing in it reaches Fastify's validation or serialization.
 */
export function routeDoc(input: RouteDocInput): { config: { swaggerTransform: SwaggerTransform } } {
  const schema = operationSchema(input);
  return { config: { swaggerTransform: ({ url }) => ({ schema, url }) } };
}

/** The route documentation @fastify/swagger turns into an OpenAPI operation. */
function operationSchema(input: RouteDocInput): FastifySchema {
  const auth = input.auth ?? 'bearer';
  const schema: FastifySchema = {
    tags: [input.tag],
    summary: input.summary,
    ...(input.description === undefined ? {} : { description: input.description }),
    ...(auth === 'bearer' ? { security: [{ bearer: [] }] } : {}),
    response: { ...successAnswers(input.answers), ...errorAnswers(input, auth) },
  };
  if (input.params !== undefined) schema.params = jsonSchema(input.params, 'input');
  if (input.query !== undefined) schema.querystring = jsonSchema(input.query, 'input');
  if (input.headers !== undefined) schema.headers = jsonSchema(input.headers, 'input');
  if (input.body !== undefined) schema.body = jsonSchema(input.body, 'input');
  return schema;
}

function successAnswers(answers: RouteDocInput['answers']): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [status, answer] of Object.entries(answers)) {
    const headers = answer.headers === undefined ? {} : { headers: headerSchemas(answer.headers) };
    if (answer.body === undefined) {
      // `type: 'null'` tells swagger the answer has no body.
      out[status] = { description: answer.description, type: 'null', ...headers };
    } else if (answer.mediaType !== undefined) {
      out[status] = {
        description: answer.description,
        content: { [answer.mediaType]: { schema: jsonSchema(answer.body, 'output') } },
        ...headers,
      };
    } else {
      out[status] = { ...jsonSchema(answer.body, 'output'), description: answer.description, ...headers };
    }
  }
  return out;
}

/** An error case with the status it is sent with. */
type StatusCase = [status: number, code: ErrorCode, when: string];

/**
 * What any route with a token, a query, a body or a path parameter can answer besides its own
 * errors: the framework's refusals mapped by http-errors.ts, a bug, and the 503 while closing.
 */
function commonErrors(input: RouteDocInput, auth: 'bearer' | 'none'): StatusCase[] {
  const common: StatusCase[] = [];
  if (auth === 'bearer') {
    common.push([
      401,
      'unauthorized',
      'no valid bearer token: missing, malformed, expired or of an unserved region',
    ]);
  }
  if (input.query !== undefined) common.push([400, 'bad_request', 'a query parameter given twice']);
  if (input.body !== undefined) {
    common.push(
      [
        400,
        'bad_request',
        'a body that is not valid JSON, breaks a structural limit (`limits.jsonMax*`: depth 32, 256 keys, 1,024 items) or has a field of the wrong type',
      ],
      [413, 'too_large', 'the body is over `limits.maxBodyBytes` (64 KiB)'],
      [415, 'bad_request', 'the body is not `application/json`'],
    );
  }
  if (input.params !== undefined) common.push([414, 'too_large', 'a path segment over 200 characters']);
  common.push(
    [500, 'internal', 'an unexpected failure (logged by the server)'],
    [503, 'unavailable', 'the server is shutting down'],
  );
  return common;
}

/** One answer per status, listing each catalogue code the route can send with it and when. */
function errorAnswers(input: RouteDocInput, auth: 'bearer' | 'none'): Record<string, unknown> {
  const cases: StatusCase[] = [
    ...(input.errors ?? []).map(([code, when]): StatusCase => [ErrorCodes[code], code, when]),
    ...commonErrors(input, auth),
  ];
  const byStatus = new Map<number, Map<ErrorCode, string[]>>();
  for (const [status, code, when] of cases) {
    const codes = byStatus.get(status) ?? new Map<ErrorCode, string[]>();
    byStatus.set(status, codes);
    codes.set(code, [...(codes.get(code) ?? []), when]);
  }
  const out: Record<string, unknown> = {};
  for (const [status, codes] of [...byStatus].sort(([a], [b]) => a - b)) {
    const listed = [...codes].map(([code, whens]) => ({ const: code, description: whens.join('; ') }));
    out[String(status)] = {
      description: `Error: ${listed.map((c) => `\`${c.const}\``).join(', ')}`,
      type: 'object',
      required: ['error'],
      properties: {
        error: {
          type: 'object',
          required: ['code', 'message'],
          properties: {
            code: listed.length === 1 ? listed[0] : { oneOf: listed },
            message: { type: 'string', description: 'for people: what was wrong, naming the field' },
          },
        },
      },
      ...(status === 429 || status === 503
        ? { headers: headerSchemas({ 'Retry-After': 'seconds to wait before trying again' }) }
        : {}),
    };
  }
  return out;
}

function headerSchemas(headers: Readonly<Record<string, string>>): Record<string, unknown> {
  return Object.fromEntries(
    Object.entries(headers).map(([name, description]) => [name, { type: 'string', description }]),
  );
}

/** A zod schema as JSON Schema 2020-12, OpenAPI 3.1's dialect: the request's side (`input`) or the answer's. */
function jsonSchema(schema: z.ZodType, io: 'input' | 'output'): Record<string, unknown> {
  const { $schema: _dialect, ...rest } = z.toJSONSchema(schema, { io, unrepresentable: 'any' });
  return rest;
}

/**
 * Registers @fastify/swagger. It collects routes with an `onRoute` hook, so it must be registered
 * before them, and the routes must be added inside a plugin registered after it: `app.get()` on
 * the root instance runs at once, before any plugin has loaded.
 */
export function registerOpenApi(app: FastifyInstance): void {
  void app.register(fastifySwagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'roomcast HTTP API',
        // The wire contract's version, not the package's: the document changes when the API does.
        version: '1.1',
        description:
          'The interactive side of live streaming: rooms, events, state, peer signals, gifts. ' +
          'Every error is `{"error":{"code","message"}}` with a code of the catalogue ' +
          '(packages/protocol/src/errors.ts). The WebSocket protocol is in docs/protocol.md.',
      },
      tags: API_TAGS.map((t) => ({ name: t.name, description: t.description })),
      components: {
        securitySchemes: { bearer: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' } },
      },
    },
    // Only for routes without a `routeDoc` (whose own transform wins): the web app's pages and
    // assets, which are not the API. openapi.test.ts checks that every API route has one.
    transform: ({ schema, url }) => ({ schema: { ...schema, hide: true }, url }),
  });
}

/** `GET /v1/openapi.json`: this document. */
export function registerOpenApiRoute(app: FastifyInstance): void {
  app.get(
    '/v1/openapi.json',
    routeDoc({
      tag: 'ops',
      summary: "This API's OpenAPI 3.1 document",
      description: 'Lists the routes this process serves: dev-mode and gateway routes only where they run.',
      auth: 'none',
      answers: { 200: { description: 'the OpenAPI document', body: z.record(z.string(), z.unknown()) } },
    }),
    async (request) => request.server.swagger(),
  );
}
