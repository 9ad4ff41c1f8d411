import { SignJWT } from 'jose';

/** An HS256 token for `user` (the `sub`) with `roles`, valid for an hour: what a cluster role verifies. */
export function hs256Token(secret: string, user: string, roles: string[] = []): Promise<string> {
  return new SignJWT({ roles })
    .setProtectedHeader({ alg: 'HS256' })
    .setSubject(user)
    .setIssuedAt()
    .setExpirationTime(Math.floor(Date.now() / 1000) + 3600)
    .sign(new TextEncoder().encode(secret));
}
