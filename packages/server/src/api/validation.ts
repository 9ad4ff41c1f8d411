import { RoomcastError } from '@roomcast/protocol';
import type { z } from 'zod';

/** Parses a request body or query with a zod schema; a mismatch is a 400 naming the field. */
export function parse<S extends z.ZodType>(schema: S, value: unknown, what: string): z.output<S> {
  const result = schema.safeParse(value ?? {});
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  const field = issue?.path.length ? issue.path.join('.') : what;
  throw new RoomcastError('bad_request', `${field}: ${issue?.message ?? 'invalid'}`);
}

/**
 * One query string value, or undefined when absent. A parameter given twice (`?have=a&have=b`)
 * arrives as an array: refused, since every parameter of the API is single.
 */
export function optionalParam(value: unknown, name: string): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'string') throw new RoomcastError('bad_request', `${name} must be given once`);
  return value;
}

/** A non-negative integer from a query string value, or undefined when absent. */
export function optionalCount(raw: unknown, name: string): number | undefined {
  const value = optionalParam(raw, name);
  if (value === undefined || value === '') return undefined;
  if (!/^\d{1,15}$/.test(value))
    throw new RoomcastError('bad_request', `${name} must be a non-negative integer`);
  return Number(value);
}
