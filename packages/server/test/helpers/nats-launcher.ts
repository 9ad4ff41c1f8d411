export * from '../../src/engines/nats-launcher.ts';
