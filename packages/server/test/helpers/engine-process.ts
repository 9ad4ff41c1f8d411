export * from '../../src/engines/engine-process.ts';
