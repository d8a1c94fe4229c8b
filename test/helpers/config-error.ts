import { expect } from 'vitest';
import { ConfigurationError } from '../../src/index.js';

/** The ConfigurationError `fn` throws; fails the test when it throws something else or nothing. */
export function configError(fn: () => unknown): ConfigurationError {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigurationError);
    return error as ConfigurationError;
  }
  throw new Error('expected a ConfigurationError');
}
