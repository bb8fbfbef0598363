/**
 * Debian's rsyslogd as the syslog receiver of the forwarding tests: started by the test as a
 * foreground (non-daemon) process on loopback, with its own config, pid file and work
 * directory; imtcp on the given port (octet-counted framing, RFC 6587), every message written
 * to one file as `MSGID STRUCTURED-DATA MSG` per line. Skip with requirements.ts rsyslogMissing.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { waitFor } from './warden-env.ts';

export interface Rsyslog {
  port: number;
  /** Where the received messages are. */
  file: string;
  /** Stops it (SIGTERM) and waits for the exit. */
  stop(): Promise<void>;
  /** Starts it again on the same port and file. */
  start(): Promise<void>;
}

/** One received message: its MSGID, its structured data and its MSG (the record JSON, BOM removed). */
export interface ReceivedSyslog {
  msgId: string;
  structuredData: string;
  record: Record<string, unknown>;
}

/** Starts rsyslogd with its files in `dir` (made if needed), listening on 127.0.0.1:`port`. */
export async function startRsyslog(dir: string, port: number): Promise<Rsyslog> {
  const work = path.join(dir, 'work');
  fs.mkdirSync(work, { recursive: true });
  const file = path.join(dir, 'received.log');
  const conf = path.join(dir, 'rsyslog.conf');
  fs.writeFileSync(
    conf,
    [
      `global(workDirectory="${work}" maxMessageSize="64k")`,
      'module(load="imtcp")',
      `input(type="imtcp" port="${port}" address="127.0.0.1")`,
      'template(name="records" type="string" string="%msgid% %structured-data% %msg%\\n")',
      `*.* action(type="omfile" file="${file}" template="records")`,
      '',
    ].join('\n'),
  );
  let child: ChildProcess | undefined;
  let output = '';
  const start = async (): Promise<void> => {
    output = '';
    child = spawn('rsyslogd', ['-n', '-f', conf, '-i', path.join(dir, 'rsyslogd.pid')], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stdout?.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr?.on('data', (d: Buffer) => (output += d.toString()));
    const running = child;
    await waitFor(
      async () => {
        if (running.exitCode !== null) throw new Error(`rsyslogd exited with ${running.exitCode}: ${output}`);
        return new Promise<boolean>((resolve) => {
          const probe = net.connect({ host: '127.0.0.1', port }, () => {
            probe.destroy();
            resolve(true);
          });
          probe.on('error', () => resolve(false));
        });
      },
      10_000,
      `rsyslogd listening on port ${port}`,
    );
  };
  const stop = async (): Promise<void> => {
    const running = child;
    if (!running || running.exitCode !== null || running.signalCode !== null) return;
    const exited = new Promise((resolve) => running.once('exit', resolve));
    running.kill('SIGTERM');
    await exited;
  };
  await start();
  return { port, file, stop, start };
}

/** Every message rsyslogd wrote to `file` so far (a partly written last line is left out). */
export function receivedSyslog(file: string): ReceivedSyslog[] {
  if (!fs.existsSync(file)) return [];
  const text = fs.readFileSync(file, 'utf8');
  const complete = text.slice(0, text.lastIndexOf('\n') + 1);
  return complete
    .split('\n')
    .filter(Boolean)
    .map((line) => {
      const match = /^(\S+) (\[.*?[^\\]\]) \uFEFF?(.*)$/.exec(line);
      if (!match) throw new Error(`rsyslog wrote a line that is not MSGID SD MSG: ${line}`);
      return {
        msgId: match[1]!,
        structuredData: match[2]!,
        record: JSON.parse(match[3]!) as Record<string, unknown>,
      };
    });
}
