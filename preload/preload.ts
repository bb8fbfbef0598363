// The sandboxed preload of every window: exposes the WardenApi as `window.warden` and nothing
// else. Bundled by vite.preload.config.ts into dist/preload/preload.cjs, one CommonJS file whose
// only require is 'electron', as sandboxed preloads must be.
import { contextBridge, ipcRenderer } from 'electron';
import { buildApi } from './api.ts';

contextBridge.exposeInMainWorld('warden', buildApi(ipcRenderer));
