import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { App } from './App.tsx';
import { connectApi } from './api.ts';

const root = createRoot(document.getElementById('root')!);
connectApi().then(
  (api) =>
    root.render(
      <StrictMode>
        <App api={api} />
      </StrictMode>,
    ),
  (error: unknown) =>
    root.render(
      <main className="fatal" role="alert">
        <h1>MCP Warden</h1>
        <p>{error instanceof Error ? error.message : String(error)}</p>
      </main>,
    ),
);
