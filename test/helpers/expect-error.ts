/** Asserting on a user's-mistake error: an InputError with a one-line message matching `pattern`. */
import { expect } from 'vitest';
import { InputError } from '../../src/base/errors.js';

export async function expectInputError(promise: Promise<unknown>, pattern: RegExp): Promise<void> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(InputError);
  expect((error as Error).message).toMatch(pattern);
  expect((error as Error).message).not.toContain('\n');
}
