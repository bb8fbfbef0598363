/**
 * The Electron app's seams for tests: tray actions that log, menu labels, and fake MainDeps.
 */
import type { MainDeps } from '../../main/app/start.ts';
import type { TrayActions } from '../../main/app/tray-menu.ts';
import { silentLogger } from '../../main/core/log.ts';
import type { WardenPaths } from '../../main/core/paths.ts';
import { FakeApi } from './fake-warden-api.ts';

/** TrayActions that log what was clicked. */
export const noActions = (): TrayActions & { log: string[] } => {
  const log: string[] = [];
  return {
    log,
    pause: () => void log.push('pause'),
    resume: () => void log.push('resume'),
    openDashboard: () => void log.push('dashboard'),
    setLaunchAtLogin: (enabled) => void log.push(`login:${enabled}`),
    quit: () => void log.push('quit'),
  };
};

/** The labels of a menu template, "—" for separators. */
export const labels = (template: { label?: string }[]): string[] => template.map((i) => i.label ?? '—');

/** MainDeps that log what main() asked for; each can be overridden. */
export function fakeDeps(overrides: Partial<MainDeps> = {}): MainDeps & { log: string[] } {
  const log: string[] = [];
  const paths = { configFile: '/cfg/config.json', daemonLogFile: '/state/daemon.log' } as WardenPaths;
  return {
    log,
    argv: ['/opt/MCP Warden/mcp-warden'],
    defaultApp: false,
    platform: 'linux',
    env: {},
    mainDir: '/opt/app.asar/dist/main/app',
    stderr: { write: (text: string) => log.push(`stderr:${text}`) > 0 },
    resolvePaths: (config?: string) => {
      log.push(`paths:${config ?? ''}`);
      return paths;
    },
    runConnect: (options) => {
      log.push(`connect:${options.server}:${options.cliEntry}:${options.configOverride ?? ''}`);
      return Promise.resolve(0);
    },
    loadConfig: () => {
      log.push('loadConfig');
      return { file: '/cfg/config.json', servers: new Map() } as never;
    },
    startDaemon: () => {
      log.push('startDaemon');
      return Promise.reject(new Error('not in this test'));
    },
    connectControlClient: () => Promise.reject(new Error('not in this test')),
    createClient: () => new FakeApi(),
    createLogger: () => silentLogger(),
    ...overrides,
  };
}
