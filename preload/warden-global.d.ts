// The preload's global, for the renderer's TypeScript: `window.warden` exists in the desktop
// app (over IPC) and is undefined in a plain browser (the renderer then uses ControlClient).
import type { WardenApi } from '../main/core/control/warden-api.ts';

declare global {
  interface Window {
    warden?: WardenApi;
  }
}

export {};
