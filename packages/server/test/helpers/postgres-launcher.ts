export * from '../../src/engines/postgres-launcher.ts';
