import type { FetchLike } from '../../src/index.ts';

export interface RecordedRequest {
  method: string;
  url: URL;
  headers: Record<string, string>;
  body: unknown;
}

type Route = (request: RecordedRequest) => Response | Promise<Response> | undefined;

/** A scripted `fetch`: routes answer requests in order of registration; every request is recorded. */
export class FakeFetch {
  readonly requests: RecordedRequest[] = [];
  readonly #routes: Array<{ method: string; path: RegExp; answer: Route }> = [];

  /** Answers `method path` (path matched against the URL's pathname) with `answer`. */
  on(method: string, path: string | RegExp, answer: Route): this {
    const pattern = typeof path === 'string' ? new RegExp(`^${escapeRegExp(path)}$`) : path;
    this.#routes.push({ method, path: pattern, answer });
    return this;
  }

  readonly fetch: FetchLike = async (input, init) => {
    const url = new URL(input);
    const headers = Object.fromEntries(Object.entries((init.headers ?? {}) as Record<string, string>));
    const body = typeof init.body === 'string' ? JSON.parse(init.body) : undefined;
    const request: RecordedRequest = { method: init.method ?? 'GET', url, headers, body };
    this.requests.push(request);
    for (const route of this.#routes) {
      if (route.method !== request.method || !route.path.test(url.pathname)) continue;
      const response = await route.answer(request);
      if (response !== undefined) return response;
    }
    return json(404, {
      error: { code: 'not_found', message: `no route for ${request.method} ${url.pathname}` },
    });
  };

  /** Requests to a path. */
  to(method: string, pathname: string): RecordedRequest[] {
    return this.requests.filter((r) => r.method === method && r.url.pathname === pathname);
  }
}

export function json(status: number, body: unknown, headers: Record<string, string> = {}): Response {
  return new Response(JSON.stringify(body), {
    status,
    headers: { 'content-type': 'application/json', ...headers },
  });
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
