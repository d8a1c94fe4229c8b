// Kept in sync with package.json by test/package.test.ts.
export const PACKAGE_NAME = 'm2m-token';
export const PACKAGE_VERSION = '0.1.0';
