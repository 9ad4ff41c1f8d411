import { readFileSync } from 'node:fs';
import { ErrorCodes, isErrorCode } from '@roomcast/protocol';
import type { FastifyInstance, RouteOptions } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ApiDocument, errorCodes, renderApiDoc } from '../../../scripts/api-doc.ts';
import { buildReferenceApp } from '../src/api/api-document.ts';

// The app docs/api.md is generated from: buildHttpApp with every route any role serves.
let app: FastifyInstance;
const routes: RouteOptions[] = [];
let doc: ApiDocument;

beforeAll(async () => {
  app = buildReferenceApp();
  // Added before ready: the routes are registered in a plugin that loads then.
  app.addHook('onRoute', (route) => {
    routes.push(route);
  });
  await app.ready();
  // The parts of the document the checks read (scripts/api-doc.ts `ApiDocument`).
  doc = app.swagger() as ApiDocument;
});
afterAll(async () => {
  await app.close();
});

/** Fastify's `/v1/rooms/:room` as OpenAPI writes it, `/v1/rooms/{room}`. */
const openApiPath = (url: string) => url.replace(/:([A-Za-z0-9_]+)/g, '{$1}');

/** Statuses the framework answers with a catalogue code but a more precise status (http-errors.ts). */
const FRAMEWORK_STATUSES = new Set([414, 415]);

describe('the OpenAPI document', () => {
  it('describes every route with a tag, a summary and its answers', () => {
    const served = routes.flatMap((r) => [r.method].flat().map((method) => ({ method, url: r.url })));
    const api = served.filter(({ method }) => method !== 'HEAD' && method !== 'OPTIONS');
    expect(api.length).toBeGreaterThan(20);
    for (const { method, url } of api) {
      const op = doc.paths[openApiPath(url)]?.[method.toLowerCase()];
      expect(op, `${method} ${url} is in the document`).toBeDefined();
      if (op === undefined) continue;
      expect(op.summary, `${method} ${url} has a summary`).toMatch(/\S/);
      expect(op.tags?.length, `${method} ${url} has a tag`).toBe(1);
      const statuses = Object.keys(op.responses).map(Number);
      expect(
        statuses.some((s) => s < 400),
        `${method} ${url} documents a success answer`,
      ).toBe(true);
      for (const status of statuses.filter((s) => s >= 400)) {
        const codes = errorCodes(op.responses[String(status)]);
        expect(codes.length, `${method} ${url} ${status} names its codes`).toBeGreaterThan(0);
        for (const [code, when] of codes) {
          expect(isErrorCode(code), `${code} is a catalogue code`).toBe(true);
          if (!FRAMEWORK_STATUSES.has(status))
            expect(ErrorCodes[code as keyof typeof ErrorCodes]).toBe(status);
          expect(when, `${method} ${url} ${code} says when`).toMatch(/\S/);
        }
      }
    }
  });

  it('lists no operation that is not a route', () => {
    const served = new Set(routes.flatMap((r) => [r.method].flat().map((m) => `${m} ${openApiPath(r.url)}`)));
    for (const [path, item] of Object.entries(doc.paths)) {
      for (const method of Object.keys(item)) expect(served).toContain(`${method.toUpperCase()} ${path}`);
    }
  });

  it('documents the error every route shares and those of a token, a body and a path segment', () => {
    const publish = doc.paths['/v1/rooms/{room}/events']?.post;
    const codesOf = (status: number) => errorCodes(publish?.responses[String(status)]).map(([code]) => code);
    expect(codesOf(401)).toEqual(['unauthorized']);
    expect(codesOf(403)).toEqual(['forbidden', 'muted', 'banned']);
    expect(codesOf(413)).toEqual(['too_large']);
    expect(codesOf(414)).toEqual(['too_large']);
    expect(codesOf(415)).toEqual(['bad_request']);
    expect(codesOf(503)).toEqual(['unavailable']);
    expect(publish?.requestBody?.content['application/json']?.schema?.required).toEqual(['type']);
    const healthz = doc.paths['/healthz']?.get;
    expect(healthz?.security).toBeUndefined();
    expect(Object.keys(healthz?.responses ?? {})).toEqual(['200', '500', '503']);
  });

  it('is served at GET /v1/openapi.json', async () => {
    const res = await app.inject({ method: 'GET', url: '/v1/openapi.json' });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual(JSON.parse(JSON.stringify(doc)));
    expect(res.json().openapi).toBe('3.1.0');
  });
});

describe('docs/api.md', () => {
  it('is what scripts/api-doc.ts generates (run `npm run docs:api` after changing a route)', () => {
    const current = readFileSync(new URL('../../../docs/api.md', import.meta.url), 'utf8');
    expect(current).toBe(renderApiDoc(doc));
  });
});
