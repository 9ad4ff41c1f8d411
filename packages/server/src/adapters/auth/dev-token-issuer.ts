import { SignJWT } from 'jose';

/** Mints HS256 tokens for `POST /v1/dev/tokens`; only a server in dev mode has one. */
export class DevTokenIssuer {
  private readonly key: Uint8Array;

  constructor(secret: string) {
    this.key = new TextEncoder().encode(secret);
  }

  async issue(claims: {
    user: string;
    roles: string[];
    rooms?: string[];
    name?: string;
    expiresInSeconds: number;
  }): Promise<string> {
    const payload: Record<string, unknown> = { roles: claims.roles };
    if (claims.rooms !== undefined) payload.rooms = claims.rooms;
    if (claims.name !== undefined) payload.name = claims.name;
    return new SignJWT(payload)
      .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
      .setSubject(claims.user)
      .setIssuedAt()
      .setExpirationTime(Math.floor(Date.now() / 1000) + claims.expiresInSeconds)
      .sign(this.key);
  }
}
