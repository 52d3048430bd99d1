declare const KILN_VERSION: string;
/** kiln's version: set by the bundler from package.json; part of every cache key. */
export const VERSION: string = typeof KILN_VERSION === 'string' ? KILN_VERSION : '0.0.0-dev';
