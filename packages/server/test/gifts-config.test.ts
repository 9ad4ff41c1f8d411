import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../src/config/load-config.ts';
import { GiftCatalogue } from '../src/core/gift-catalogue.ts';

describe('gift and ledger settings', () => {
  it('default to three embedded balance shards and a rose/heart/rocket catalogue', () => {
    const config = loadConfig({ env: {} });
    expect(config.ledger.shards).toEqual([]);
    expect(config.ledger.embeddedShards).toBe(3);
    expect(GiftCatalogue.fromSettings(config.gifts.catalogue).list()).toEqual([
      { id: 'rose', name: 'Rose', price: 1 },
      { id: 'heart', name: 'Heart', price: 10 },
      { id: 'rocket', name: 'Rocket', price: 500 },
    ]);
  });

  it('read balance shards as an ordered URL list and the catalogue as id=price:Name pairs', () => {
    const config = loadConfig({
      env: {
        ROOMCAST_LEDGER_SHARDS: 'postgresql://db1/l0,postgresql://db2/l1?sslmode=require',
        ROOMCAST_GIFTS_CATALOGUE: 'star=5:Shooting star,crown=9000:Crown',
      },
    });
    expect(config.ledger.shards).toEqual(['postgresql://db1/l0', 'postgresql://db2/l1?sslmode=require']);
    expect(GiftCatalogue.fromSettings(config.gifts.catalogue).get('star')).toEqual({
      id: 'star',
      name: 'Shooting star',
      price: 5,
    });
  });

  it.each([
    [{ ROOMCAST_LEDGER_SHARDS: 'postgresql://db/l0,postgresql://db/l0' }, 'ledger.shards'],
    [{ ROOMCAST_LEDGER_SHARDS: 'mysql://db/l0' }, 'ledger.shards'],
    [{ ROOMCAST_GIFTS_CATALOGUE: 'rose=0:Rose' }, 'gifts.catalogue'],
    [{ ROOMCAST_GIFTS_CATALOGUE: 'rose=1.5:Rose' }, 'gifts.catalogue'],
    [{ ROOMCAST_GIFTS_CATALOGUE: 'rose=9007199254740992:Rose' }, 'gifts.catalogue'],
    [{ ROOMCAST_GIFTS_CATALOGUE: 'Rose!=1:Rose' }, 'gifts.catalogue'],
    [{ ROOMCAST_GIFTS_CATALOGUE: 'rose=1' }, 'gifts.catalogue'],
    [{ ROOMCAST_LEDGER_EMBEDDED_SHARDS: '0' }, 'ledger.embeddedShards'],
  ])('refuse a bad value and name the setting (%j)', (env, name) => {
    expect(() => loadConfig({ env })).toThrow(ConfigError);
    expect(() => loadConfig({ env })).toThrow(name);
  });
});
