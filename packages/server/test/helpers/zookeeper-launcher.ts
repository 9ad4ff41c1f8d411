export * from '../../src/engines/zookeeper-launcher.ts';
