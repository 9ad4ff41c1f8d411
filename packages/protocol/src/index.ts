export * from './admin-stats.ts';
export * from './codec.ts';
export * from './errors.ts';
export * from './frames.ts';
export * from './ids.ts';
export * from './json-limits.ts';
export * from './model.ts';
export * from './text-rules.ts';
