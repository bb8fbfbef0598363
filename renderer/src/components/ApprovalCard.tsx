import { useEffect, useState } from 'react';
import type { ApprovalChoice, ApprovalRequest } from '../../../main/core/control/contract.ts';
import type { WardenApi } from '../../../main/core/control/warden-api.ts';
import { message } from '../data/message.ts';

const CHOICE_LABELS: Record<ApprovalChoice, string> = {
  deny: 'Deny',
  'allow-once': 'Allow once',
  'allow-session': 'Allow for this session',
  'allow-always': 'Always allow',
};

const DONE_LABELS: Record<ApprovalChoice, string> = {
  deny: 'Denied',
  'allow-once': 'Allowed once',
  'allow-session': 'Allowed for this session',
  'allow-always': 'Always allowed',
};

/** What the tool's annotations say about its risk; unannotated tools are treated as risky. */
export function riskOf(annotations: Record<string, unknown> | undefined): { level: string; words: string[] } {
  const words: string[] = [];
  if (annotations?.destructiveHint === true) words.push('may delete or overwrite data (destructiveHint)');
  if (annotations?.readOnlyHint === true) words.push('says it only reads (readOnlyHint)');
  if (annotations?.openWorldHint === true) words.push('reaches outside this machine (openWorldHint)');
  if (annotations?.idempotentHint === true) words.push('repeating it has no further effect (idempotentHint)');
  const level =
    annotations?.destructiveHint === true
      ? 'high'
      : annotations?.readOnlyHint === true
        ? 'low'
        : annotations === undefined || Object.keys(annotations).length === 0
          ? 'unknown'
          : 'medium';
  if (level === 'unknown') words.push('the server did not annotate this tool');
  return { level, words };
}

/**
 * The directory as a glob that matches it literally (the call's path comes from the client: a
 * "*" in it must not widen the approval). Same escapes as the core's escapeGlob.
 */
function escapeGlob(text: string): string {
  return text.replace(/[\\*?[\]{}()!+@|^$]/g, '\\$&');
}

/** Seconds left until `iso`, updated every second (never below 0). */
function useSecondsLeft(iso: string): number {
  const left = (): number => Math.max(0, Math.round((Date.parse(iso) - Date.now()) / 1000));
  const [seconds, setSeconds] = useState(left);
  useEffect(() => {
    const timer = setInterval(() => setSeconds(left()), 1000);
    return () => clearInterval(timer);
  }, [iso]);
  return seconds;
}

/**
 * One held `tools/call`, shown in full, with the answers the policy allows. The arguments are
 * printed whole (long values scroll, nothing is cut). Deny has the focus first: Enter on an
 * unread popup must not allow anything.
 */
export function ApprovalCard({
  api,
  request,
  channel,
  autoFocus,
  resolved,
}: {
  api: WardenApi;
  request: ApprovalRequest;
  channel: 'popup' | 'dashboard';
  autoFocus?: boolean;
  /** No longer pending: answered (here or elsewhere), timed out or withdrawn. */
  resolved?: boolean;
}) {
  const [sent, setSent] = useState<ApprovalChoice>();
  // "Always allow" can be narrowed to a directory when the call has an absolute "path".
  const callPath = typeof request.arguments?.path === 'string' ? request.arguments.path : undefined;
  const callDir = callPath?.startsWith('/') ? callPath.slice(0, callPath.lastIndexOf('/')) || '/' : undefined;
  const [underDir, setUnderDir] = useState(true);
  const [error, setError] = useState<string>();
  const seconds = useSecondsLeft(request.expiresAt);
  const risk = riskOf(request.annotations);
  const args = JSON.stringify(request.arguments ?? {}, null, 2);
  const client = [request.client.name ?? 'an unnamed client', request.client.version]
    .filter(Boolean)
    .join(' ');

  const answer = (choice: ApprovalChoice): void => {
    setError(undefined);
    setSent(choice);
    const conditions =
      choice === 'allow-always' && callDir && underDir
        ? [{ pointer: '/path', glob: `${escapeGlob(callDir === '/' ? '' : callDir)}/**` }]
        : undefined;
    api
      .answer(request.id, {
        choice,
        argumentsHash: request.argumentsHash,
        channel,
        ...(conditions ? { conditions } : {}),
      })
      .catch((e: unknown) => {
        setSent(undefined);
        setError(message(e));
      });
  };

  return (
    <article className={`approval risk-${risk.level}`} aria-labelledby={`approval-${request.id}`}>
      <header>
        <h2 id={`approval-${request.id}`}>
          <span className="muted">{client} wants to call</span>{' '}
          <code>
            {request.server}/{request.tool}
          </code>
        </h2>
        {!sent && !resolved && (
          <p className="countdown" aria-live="off">
            {seconds > 0 ? `Denied automatically in ${seconds} s` : 'Timed out: denied'}
          </p>
        )}
      </header>
      <dl className="facts">
        <dt>Server</dt>
        <dd>{request.server}</dd>
        <dt>Tool</dt>
        <dd>{request.tool}</dd>
        <dt>Risk</dt>
        <dd>
          <span className={`badge risk-${risk.level}`}>{risk.level}</span> {risk.words.join('; ')}
        </dd>
        <dt>Asked by</dt>
        <dd>
          {request.rule.text} <span className="muted">({request.rule.source})</span>
        </dd>
      </dl>
      <h3>Arguments ({new TextEncoder().encode(args).length} bytes)</h3>
      <pre className="arguments" tabIndex={0} aria-label="arguments of the call">
        {args}
      </pre>
      {request.annotations && Object.keys(request.annotations).length > 0 && (
        <details>
          <summary>Annotations</summary>
          <pre>{JSON.stringify(request.annotations, null, 2)}</pre>
        </details>
      )}
      {error && (
        <p className="error" role="alert">
          {error}
        </p>
      )}
      {sent || resolved ? (
        <p className="answered" role="status">
          {sent ? DONE_LABELS[sent] : 'Answered elsewhere, timed out or withdrawn'}
        </p>
      ) : (
        <>
          {callDir && request.choices.includes('allow-always') && (
            <label className="scope">
              <input type="checkbox" checked={underDir} onChange={(e) => setUnderDir(e.target.checked)} />{' '}
              “Always allow” only for paths under <code>{callDir}</code>
            </label>
          )}
          <div className="choices" role="group" aria-label="your answer">
            {request.choices.map((choice, i) => (
              <button
                key={choice}
                type="button"
                className={choice === 'deny' ? 'deny' : 'allow'}
                autoFocus={autoFocus && i === 0}
                onClick={() => answer(choice)}
              >
                {CHOICE_LABELS[choice]}
              </button>
            ))}
          </div>
        </>
      )}
    </article>
  );
}
