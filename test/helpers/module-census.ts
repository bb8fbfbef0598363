/**
 * A preload (`node --import <this file>`, e.g. through NODE_OPTIONS) that records every module
 * the process loads, ESM and CommonJS alike (module.registerHooks sees both), and writes their
 * URLs as a JSON array to `$WARDEN_MODULE_CENSUS.<pid>.json` when the process exits, followed
 * by Node's own modules as `builtin:<id>` (process.moduleLoadList, e.g.
 * `builtin:internal/deps/undici/undici`). Used by test/unit/cli-lazy.test.ts and
 * test/unit/daemon-idle-modules.test.ts to see what a process loads; loadedModules and
 * loadedBuiltins read the file back.
 */
import fs from 'node:fs';
import { registerHooks } from 'node:module';
import { fileURLToPath } from 'node:url';

/** The environment variable naming where the census goes (a path prefix). */
export const CENSUS_ENV_VAR = 'WARDEN_MODULE_CENSUS';

/** One loaded file: its path, the npm package it belongs to (undefined: ours) and its size, bytes. */
export interface LoadedModule {
  file: string;
  pkg: string | undefined;
  bytes: number;
}

/** The files a process recorded (node: built-ins left out), from the census file it wrote. */
export function loadedModules(censusFile: string): LoadedModule[] {
  const urls = JSON.parse(fs.readFileSync(censusFile, 'utf8')) as string[];
  return urls
    .filter((url) => url.startsWith('file:'))
    .map((url) => {
      const file = fileURLToPath(url);
      const inPackage = /.*node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(file);
      return { file, pkg: inPackage?.[1], bytes: fs.statSync(file).size };
    });
}

/** Node's own modules the process loaded (ids as in process.moduleLoadList, e.g. `internal/deps/undici/undici`). */
export function loadedBuiltins(censusFile: string): string[] {
  const urls = JSON.parse(fs.readFileSync(censusFile, 'utf8')) as string[];
  return urls.filter((url) => url.startsWith('builtin:')).map((url) => url.slice('builtin:'.length));
}

const prefix = process.env[CENSUS_ENV_VAR];
if (prefix) {
  const seen = new Set<string>();
  registerHooks({
    load(url, context, nextLoad) {
      seen.add(url);
      return nextLoad(url, context);
    },
  });
  process.on('exit', () => {
    // Undocumented but long-standing (Node 0.x to 24); not in @types/node.
    const builtins = (process as unknown as { moduleLoadList: string[] }).moduleLoadList
      .filter((entry) => entry.startsWith('NativeModule '))
      .map((entry) => `builtin:${entry.slice('NativeModule '.length)}`);
    fs.writeFileSync(`${prefix}.${process.pid}.json`, JSON.stringify([...seen, ...builtins]));
  });
}
