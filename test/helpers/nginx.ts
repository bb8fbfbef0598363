/**
 * A real static web server for org policy tests: Debian's nginx on 127.0.0.1, serving files
 * from a directory (with ETags), in its own prefix so nothing of the system's nginx is touched.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { freePort, waitFor } from './warden-env.ts';

export interface Nginx {
  url: string;
  root: string;
  stop(): Promise<void>;
  start(): Promise<void>;
}

export async function startNginx(dir: string): Promise<Nginx> {
  const root = path.join(dir, 'www');
  fs.mkdirSync(root, { recursive: true });
  const port = await freePort();
  const conf = path.join(dir, 'nginx.conf');
  fs.writeFileSync(
    conf,
    `daemon off;
user root root;
worker_processes 1;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log;
events { worker_connections 64; }
http {
  access_log off;
  client_body_temp_path ${dir}/tmp;
  proxy_temp_path ${dir}/tmp;
  fastcgi_temp_path ${dir}/tmp;
  uwsgi_temp_path ${dir}/tmp;
  scgi_temp_path ${dir}/tmp;
  server { listen 127.0.0.1:${port}; root ${root}; etag on; default_type application/jose; }
}
`,
  );
  fs.mkdirSync(path.join(dir, 'tmp'), { recursive: true });
  const binary = fs.existsSync('/usr/sbin/nginx') ? '/usr/sbin/nginx' : 'nginx';
  let child: ChildProcess | undefined;
  const server: Nginx = {
    url: `http://127.0.0.1:${port}`,
    root,
    async start() {
      child = spawn(binary, ['-p', dir, '-c', conf], { stdio: 'ignore' });
      await waitFor(
        async () => {
          try {
            await fetch(`http://127.0.0.1:${port}/`);
            return true;
          } catch {
            return false;
          }
        },
        10_000,
        'nginx',
      );
    },
    async stop() {
      if (!child || child.exitCode !== null) return;
      const exited = new Promise((r) => child!.once('exit', r));
      child.kill('SIGQUIT');
      await exited;
    },
  };
  await server.start();
  return server;
}
