export * from '../../src/engines/redis-launcher.ts';
