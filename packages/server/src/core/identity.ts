/** Who is calling: the verified claims of a token. */
export interface Identity {
  /** The user ID (`sub`), `<region>_<rest>`. */
  userId: string;
  /** Display name (`name` claim), when given. */
  name?: string;
  /** `roles` claim: `admin`, `service` and any others the issuer adds. */
  roles: ReadonlySet<string>;
  /** `rooms` claim: private rooms this user may join. */
  privateRooms: ReadonlySet<string>;
  /** Token expiry, ms since the epoch. */
  expiresAt: number;
}

/** Verifies a bearer token; rejects with RoomcastError `unauthorized` when it is missing, invalid or expired. */
export interface TokenVerifier {
  verify(token: string): Promise<Identity>;
}

export function isAdmin(identity: Identity): boolean {
  return identity.roles.has('admin');
}

export function isService(identity: Identity): boolean {
  return identity.roles.has('service');
}

/** Admins and services: trusted back-end callers that may publish any event type. */
export function isPrivileged(identity: Identity): boolean {
  return isAdmin(identity) || isService(identity);
}
