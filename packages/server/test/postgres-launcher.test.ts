import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { chmod, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { findPostgresBinaries } from './helpers/postgres-launcher.ts';

describe('PostgreSQL launcher', () => {
  it('fails with one line naming the Debian package when no PostgreSQL binaries are found', () => {
    const empty = mkdtempSync(join(tmpdir(), 'rc-nopg-'));
    let message = '';
    try {
      findPostgresBinaries({ path: empty, debianRoot: join(empty, 'missing') });
    } catch (err) {
      message = (err as Error).message;
    } finally {
      rmSync(empty, { recursive: true, force: true });
    }
    expect(message).toMatch(/install the Debian package `postgresql`/);
    expect(message).not.toContain('\n');
  });

  it('finds the binaries in the newest /usr/lib/postgresql/<version>/bin layout', async () => {
    const root = mkdtempSync(join(tmpdir(), 'rc-pgroot-'));
    for (const version of ['9.6', '15', '13']) {
      const bin = join(root, version, 'bin');
      await mkdir(bin, { recursive: true });
      for (const name of ['initdb', 'pg_ctl', 'postgres']) {
        writeFileSync(join(bin, name), '#!/bin/sh\n');
        await chmod(join(bin, name), 0o755);
      }
    }
    try {
      expect(findPostgresBinaries({ path: '', debianRoot: root })).toEqual({
        initdb: join(root, '15', 'bin', 'initdb'),
        pgCtl: join(root, '15', 'bin', 'pg_ctl'),
        postgres: join(root, '15', 'bin', 'postgres'),
      });
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
});
