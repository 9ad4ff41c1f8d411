import { isUserId, RoomcastError } from '@roomcast/protocol';
import { createRemoteJWKSet, errors, type JWTPayload, type JWTVerifyGetKey, jwtVerify } from 'jose';
import { LRUCache } from 'lru-cache';
import type { Identity, TokenVerifier } from '../../core/identity.ts';

export interface JoseVerifierOptions {
  /** HS256 secret. */
  secret?: string;
  /** JWKS URL for RS256/ES256. When both are set, a token's `alg` picks the key source. */
  jwksUrl?: string;
  issuer?: string;
  audience?: string;
  clockToleranceSeconds: number;
  /** Allowed regions: a `sub` outside them is refused. */
  regions: readonly string[];
}

/**
 * Verifies JWTs with jose: HS256 with a shared secret and/or RS256/ES256 from a JWKS. Verified
 * tokens are cached until they expire, so pollers and reconnect storms do not pay a signature
 * check per request.
 */
export class JoseTokenVerifier implements TokenVerifier {
  private readonly secret: Uint8Array | undefined;
  private readonly jwks: JWTVerifyGetKey | undefined;
  private readonly cache = new LRUCache<string, Identity>({ max: 50_000 });

  constructor(private readonly options: JoseVerifierOptions) {
    if (options.secret === undefined && options.jwksUrl === undefined) {
      throw new Error('JWT verification needs jwt.secret (ROOMCAST_JWT_SECRET) or jwt.jwksUrl');
    }
    this.secret = options.secret === undefined ? undefined : new TextEncoder().encode(options.secret);
    this.jwks = options.jwksUrl === undefined ? undefined : createRemoteJWKSet(new URL(options.jwksUrl));
  }

  async verify(token: string): Promise<Identity> {
    const cached = this.cache.get(token);
    if (cached !== undefined) {
      if (cached.expiresAt > Date.now()) return cached;
      this.cache.delete(token);
    }
    if (token.length === 0 || token.length > 8192) throw new RoomcastError('unauthorized', 'invalid token');
    let payload: JWTPayload;
    try {
      const verifyOptions = {
        clockTolerance: this.options.clockToleranceSeconds,
        requiredClaims: ['sub', 'exp'],
        ...(this.options.issuer === undefined ? {} : { issuer: this.options.issuer }),
        ...(this.options.audience === undefined ? {} : { audience: this.options.audience }),
      };
      const alg = algorithmOf(token);
      if (alg === 'HS256' && this.secret !== undefined) {
        ({ payload } = await jwtVerify(token, this.secret, { ...verifyOptions, algorithms: ['HS256'] }));
      } else if (this.jwks !== undefined && (alg === 'RS256' || alg === 'ES256')) {
        ({ payload } = await jwtVerify(token, this.jwks, {
          ...verifyOptions,
          algorithms: ['RS256', 'ES256'],
        }));
      } else {
        throw new RoomcastError('unauthorized', `token algorithm ${alg ?? 'unknown'} is not accepted`);
      }
    } catch (err) {
      if (err instanceof RoomcastError) throw err;
      if (err instanceof errors.JWTExpired) throw new RoomcastError('unauthorized', 'token expired');
      if (err instanceof errors.JWKSTimeout || err instanceof errors.JWKSInvalid) {
        throw new RoomcastError('unavailable', 'the key set (JWKS) is unreachable');
      }
      throw new RoomcastError('unauthorized', 'invalid token');
    }
    const identity = toIdentity(payload, this.options.regions);
    this.cache.set(token, identity);
    return identity;
  }
}

function algorithmOf(token: string): string | undefined {
  const head = token.split('.', 1)[0];
  if (head === undefined) return undefined;
  try {
    const parsed = JSON.parse(Buffer.from(head, 'base64url').toString('utf8')) as { alg?: unknown };
    return typeof parsed.alg === 'string' ? parsed.alg : undefined;
  } catch {
    return undefined;
  }
}

function toIdentity(payload: JWTPayload, regions: readonly string[]): Identity {
  const sub = payload.sub;
  if (!isUserId(sub)) throw new RoomcastError('unauthorized', 'token sub is not a user ID (<region>_<id>)');
  const region = sub.slice(0, sub.indexOf('_'));
  if (!regions.includes(region))
    throw new RoomcastError('unauthorized', `unknown region "${region}" in token sub`);
  const roles = stringArray(payload.roles, 'roles');
  const rooms = stringArray(payload.rooms, 'rooms');
  const name = payload.name;
  if (name !== undefined && (typeof name !== 'string' || name.length > 100)) {
    throw new RoomcastError('unauthorized', 'token name must be a string of at most 100 characters');
  }
  return {
    userId: sub,
    ...(typeof name === 'string' ? { name } : {}),
    roles: new Set(roles),
    privateRooms: new Set(rooms),
    expiresAt: (payload.exp as number) * 1000,
  };
}

function stringArray(value: unknown, claim: string): string[] {
  if (value === undefined) return [];
  if (!Array.isArray(value) || value.length > 10_000 || !value.every((v) => typeof v === 'string')) {
    throw new RoomcastError('unauthorized', `token ${claim} must be an array of strings`);
  }
  return value as string[];
}
