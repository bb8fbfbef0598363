import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { describeError, WardenError } from './errors.ts';

const requireHere = createRequire(import.meta.url);

/**
 * A package loaded on its first use, not when the module that needs it is: an idle daemon
 * holds none of what only some requests, platforms or commands use (secret scanning, org
 * policy signatures, property lists, diffs). Resolved as an import resolves it (the package's
 * `import` export, so the very module an import would give), then loaded synchronously with
 * `require` (an ES module comes as its namespace object, `require(esm)`), once.
 * @param specifier the package, as an import names it.
 * @param what what it does, for the error message.
 * @returns a function that gives the module (typed by the caller: `lazyModule<typeof Pkg>`).
 * @throws (the returned function) WardenError INTERNAL "cannot load <what> (<specifier>): …"
 *   when the package cannot be loaded (a broken installation); tried again on the next call.
 */
export function lazyModule<T>(specifier: string, what: string): () => T {
  let loaded: T | undefined;
  return () => {
    if (loaded === undefined) {
      try {
        loaded = requireHere(fileURLToPath(import.meta.resolve(specifier))) as T;
      } catch (error) {
        throw cannotLoad(specifier, what, error);
      }
    }
    return loaded;
  };
}

/**
 * The asynchronous form of {@link lazyModule}, for packages used only in async code: `load` is
 * `() => import('<specifier>')`, called on the first use and its promise kept.
 * @throws (the returned promise) WardenError INTERNAL "cannot load <what> (<specifier>): …";
 *   a failed load is tried again on the next call.
 */
export function lazyImport<T>(specifier: string, what: string, load: () => Promise<T>): () => Promise<T> {
  let loading: Promise<T> | undefined;
  return () => {
    loading ??= load().catch((error: unknown) => {
      loading = undefined;
      throw cannotLoad(specifier, what, error);
    });
    return loading;
  };
}

function cannotLoad(specifier: string, what: string, error: unknown): WardenError {
  return new WardenError('INTERNAL', `cannot load ${what} (${specifier}): ${describeError(error)}`, {
    cause: error,
  });
}
