export * from './acquire.js';
export * from './runtime.js';
export * from './tensor.js';
export * from './scope.js';
export { sizeClass, type PoolStats } from './buffer-pool.js';
export * from './program.js';
export * from './profile.js';
