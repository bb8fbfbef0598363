// Entry of the desktop app (the packaged app's "main", set in electron-builder.yml). Wiring
// only: the Electron modules and the real dependencies go to start.ts, which is tested with
// fakes. Everything here runs before the app's `ready` event, as start.ts requires.
import {
  app,
  BrowserWindow,
  dialog,
  ipcMain,
  Menu,
  nativeImage,
  Notification,
  protocol,
  session,
  Tray,
} from 'electron';
import { defaultMainDeps, main } from './start.ts';

main(
  { app, BrowserWindow, dialog, ipcMain, Menu, nativeImage, Notification, protocol, session, Tray },
  defaultMainDeps(import.meta.dirname),
);
