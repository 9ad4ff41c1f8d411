import { readFileSync } from 'node:fs';
import { checkJsonLimits, DEFAULT_JSON_LIMITS } from '@roomcast/protocol';
import type { z } from 'zod';
import { configSchema, type RoomcastConfig } from './config-schema.ts';

/** A setting that could not be read or validated; the message names the setting and where it came from. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  readonly code = 'invalid_config';
}

type LeafKind = 'number' | 'boolean' | 'string' | 'string[]' | 'map';

/** Settings with a short flag or env name of their own besides the generic ones. */
const ALIASES: Record<string, string> = {
  ROOMCAST_PORT: 'port',
  ROOMCAST_HOST: 'host',
  ROOMCAST_DATA: 'dataDir',
  ROOMCAST_JWT_SECRET: 'jwt.secret',
  ROOMCAST_JWKS_URL: 'jwt.jwksUrl',
  ROOMCAST_LOG_LEVEL: 'log.level',
  '--port': 'port',
  '--host': 'host',
  '--data': 'dataDir',
  '--regions': 'regions',
  '--log-level': 'log.level',
  '--public-url': 'publicUrl',
  '--gateway-id': 'gatewayId',
};

interface ZodInternals {
  _zod: { def: { type: string; innerType?: unknown; shape?: Record<string, unknown>; in?: unknown } };
}

/** Walks the schema once to learn every leaf setting's path and kind. */
function collectLeaves(schema: unknown, prefix: string[], out: Map<string, LeafKind>): void {
  const def = (schema as ZodInternals)._zod.def;
  switch (def.type) {
    case 'default':
    case 'prefault':
    case 'optional':
      collectLeaves(def.innerType, prefix, out);
      return;
    case 'pipe':
      collectLeaves(def.in, prefix, out);
      return;
    case 'object':
      for (const [key, child] of Object.entries(def.shape ?? {})) collectLeaves(child, [...prefix, key], out);
      return;
    case 'number':
      out.set(prefix.join('.'), 'number');
      return;
    case 'boolean':
      out.set(prefix.join('.'), 'boolean');
      return;
    case 'array':
      out.set(prefix.join('.'), 'string[]');
      return;
    case 'record':
      out.set(prefix.join('.'), 'map');
      return;
    default:
      out.set(prefix.join('.'), 'string');
  }
}

const LEAVES = new Map<string, LeafKind>();
collectLeaves(configSchema, [], LEAVES);

/** `gateway.batchWindowMs` → `ROOMCAST_GATEWAY_BATCH_WINDOW_MS`. */
export function envNameOf(path: string): string {
  return `ROOMCAST_${path
    .split('.')
    .map((part) => part.replace(/([a-z0-9])([A-Z])/g, '$1_$2').toUpperCase())
    .join('_')}`;
}

/** `gateway.batchWindowMs` → `--gateway.batch-window-ms`. */
export function flagNameOf(path: string): string {
  return `--${path
    .split('.')
    .map((part) => part.replace(/([a-z0-9])([A-Z])/g, '$1-$2').toLowerCase())
    .join('.')}`;
}

const ENV_TO_PATH = new Map<string, string>();
const FLAG_TO_PATH = new Map<string, string>();
for (const path of LEAVES.keys()) {
  ENV_TO_PATH.set(envNameOf(path), path);
  FLAG_TO_PATH.set(flagNameOf(path), path);
}
for (const [name, path] of Object.entries(ALIASES))
  (name.startsWith('--') ? FLAG_TO_PATH : ENV_TO_PATH).set(name, path);

function convert(raw: string, kind: LeafKind, source: string): unknown {
  switch (kind) {
    case 'number': {
      const n = Number(raw);
      if (raw.trim() === '' || !Number.isFinite(n))
        throw new ConfigError(`${source}: expected a number, got "${raw}"`);
      return n;
    }
    case 'boolean':
      if (/^(1|true|yes|on)$/i.test(raw)) return true;
      if (/^(0|false|no|off)$/i.test(raw)) return false;
      throw new ConfigError(`${source}: expected true or false, got "${raw}"`);
    case 'string[]':
      return raw
        .split(',')
        .map((s) => s.trim())
        .filter((s) => s !== '');
    case 'map':
      return parseMap(raw, source);
    case 'string':
      return raw;
  }
}

/**
 * `us=postgresql://a/x,eu=postgresql://b/y` → `{ us: 'postgresql://a/x', eu: 'postgresql://b/y' }`.
 * Entries split at a comma followed by `key=`, values at their first `=`, so a value may hold
 * commas and `=` (URL query strings) as long as no comma in it is followed by `word=`.
 */
function parseMap(raw: string, source: string): Record<string, string> {
  const map = new Map<string, string>();
  for (const entry of raw.split(/,(?=\s*[A-Za-z0-9_-]+=)/)) {
    if (entry.trim() === '') continue;
    const eq = entry.indexOf('=');
    if (eq <= 0) throw new ConfigError(`${source}: expected key=value[,key=value…], got "${entry.trim()}"`);
    const key = entry.slice(0, eq).trim();
    if (map.has(key)) throw new ConfigError(`${source}: "${key}" is given twice`);
    map.set(key, entry.slice(eq + 1).trim());
  }
  return Object.fromEntries(map);
}

function setPath(target: Record<string, unknown>, path: string, value: unknown): void {
  const parts = path.split('.');
  let node = target;
  for (const part of parts.slice(0, -1)) {
    const next = node[part];
    if (typeof next === 'object' && next !== null && !Array.isArray(next))
      node = next as Record<string, unknown>;
    else {
      const created: Record<string, unknown> = {};
      node[part] = created;
      node = created;
    }
  }
  node[parts[parts.length - 1] as string] = value;
}

export interface ConfigSources {
  /** CLI arguments after the role name, e.g. ['--port', '9000']. */
  argv?: readonly string[];
  env?: Readonly<Record<string, string | undefined>>;
  /** Settings that win over the defaults but lose to file, env and flags (a role's own defaults). */
  roleDefaults?: Record<string, unknown>;
  /** Settings that win over everything (tests). */
  overrides?: Record<string, unknown>;
}

/** ROOMCAST_* variables that are not settings: the config file, and `roomcast cluster`'s Node flags per role. */
const NOT_SETTINGS = new Set(['ROOMCAST_CONFIG', 'ROOMCAST_ROLE_NODE_ARGS']);

/**
 * Reads configuration once at start: defaults < role defaults < config file (`--config F` or
 * ROOMCAST_CONFIG, JSON) < environment (ROOMCAST_*) < flags < overrides. Unknown flags, unknown
 * ROOMCAST_* variables and invalid values throw ConfigError naming the setting and its source.
 */
export function loadConfig(sources: ConfigSources = {}): RoomcastConfig {
  const env = sources.env ?? {};
  const argv = sources.argv ?? [];
  const input: Record<string, unknown> = structuredClone(sources.roleDefaults ?? {});
  const origin = new Map<string, string>();

  let configFile = env.ROOMCAST_CONFIG;
  const flagValues: Array<[string, string]> = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    if (!arg.startsWith('--')) throw new ConfigError(`unexpected argument "${arg}"`);
    const eq = arg.indexOf('=');
    const name = eq === -1 ? arg : arg.slice(0, eq);
    let value = eq === -1 ? undefined : arg.slice(eq + 1);
    if (name !== '--config' && !FLAG_TO_PATH.has(name)) {
      throw new ConfigError(`${name}: unknown flag (roomcast help settings lists them)`);
    }
    if (value === undefined) {
      const path = FLAG_TO_PATH.get(name);
      const next = argv[i + 1];
      if (
        path !== undefined &&
        LEAVES.get(path) === 'boolean' &&
        (next === undefined || next.startsWith('--'))
      ) {
        value = 'true';
      } else {
        if (next === undefined) throw new ConfigError(`${name}: missing value`);
        value = next;
        i++;
      }
    }
    if (name === '--config') configFile = value;
    else flagValues.push([name, value]);
  }

  if (configFile !== undefined) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(readFileSync(configFile, 'utf8'));
    } catch (err) {
      throw new ConfigError(`config file ${configFile}: ${(err as Error).message}`);
    }
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
      throw new ConfigError(`config file ${configFile}: expected a JSON object`);
    }
    // Settings nest a few levels; anything deeper or wider is not a config file (and must not
    // reach the recursive merge below).
    const broken = checkJsonLimits(parsed, DEFAULT_JSON_LIMITS, 'config');
    if (broken !== undefined) throw new ConfigError(`config file ${configFile}: ${broken.message}`);
    mergeInto(input, parsed as Record<string, unknown>);
    for (const path of LEAVES.keys()) origin.set(path, `config file ${configFile} (${path})`);
  }

  for (const [name, raw] of Object.entries(env)) {
    if (!name.startsWith('ROOMCAST_') || raw === undefined || NOT_SETTINGS.has(name)) continue;
    const path = ENV_TO_PATH.get(name);
    if (path === undefined) throw new ConfigError(`${name}: unknown setting (see docs/configuration.md)`);
    setPath(input, path, convert(raw, LEAVES.get(path) as LeafKind, name));
    origin.set(path, name);
  }
  for (const [name, raw] of flagValues) {
    const path = FLAG_TO_PATH.get(name);
    if (path === undefined) throw new ConfigError(`${name}: unknown flag (see docs/configuration.md)`);
    setPath(input, path, convert(raw, LEAVES.get(path) as LeafKind, name));
    origin.set(path, name);
  }
  if (sources.overrides !== undefined) mergeInto(input, structuredClone(sources.overrides));

  const result = configSchema.safeParse(input);
  if (!result.success) throw new ConfigError(describeIssues(result.error.issues, origin));
  return result.data;
}

function mergeInto(target: Record<string, unknown>, source: Record<string, unknown>): void {
  for (const [key, value] of Object.entries(source)) {
    const existing = target[key];
    if (
      typeof value === 'object' &&
      value !== null &&
      !Array.isArray(value) &&
      typeof existing === 'object' &&
      existing !== null &&
      !Array.isArray(existing)
    ) {
      mergeInto(existing as Record<string, unknown>, value as Record<string, unknown>);
    } else target[key] = value;
  }
}

function describeIssues(issues: readonly z.core.$ZodIssue[], origin: Map<string, string>): string {
  return issues
    .map((issue) => {
      const base = issue.path.map(String).join('.');
      const keys =
        issue.code === 'unrecognized_keys' ? issue.keys.map((k) => (base ? `${base}.${k}` : k)) : [];
      const setting = keys.length > 0 ? keys.join(', ') : base || '(root)';
      const from = origin.get(base);
      const where = from !== undefined && from !== base ? ` (from ${from})` : '';
      return `invalid setting ${setting}${where}: ${issue.message}`;
    })
    .join('; ');
}

/** Every setting with its env var and flag, for docs and `roomcast help`. */
export function describeSettings(): Array<{ path: string; env: string; flag: string; kind: LeafKind }> {
  return [...LEAVES].map(([path, kind]) => ({ path, env: envNameOf(path), flag: flagNameOf(path), kind }));
}
