export * from './tape.js';
export * from './ops.js';
export * from './gradcheck.js';
export { Tensor, tidy, tidyAsync, keep } from '../gpu/index.js';
