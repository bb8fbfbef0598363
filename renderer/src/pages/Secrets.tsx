import { useState, type FormEvent } from 'react';
import { useQueryClient } from '@tanstack/react-query';
import type { WardenApi } from '../../../main/core/control/warden-api.ts';
import { message } from '../data/message.ts';
import { queryKeys, useSecrets } from '../data/queries.ts';

/** Secret names in the OS keychain: add and remove. Values are never read back into the page. */
export function SecretsPage({ api }: { api: WardenApi }) {
  const secrets = useSecrets(api);
  const client = useQueryClient();
  const reload = (): void => void client.invalidateQueries({ queryKey: queryKeys.secrets });
  const [error, setError] = useState<string>();
  const [note, setNote] = useState<string>();
  const add = (event: FormEvent<HTMLFormElement>): void => {
    event.preventDefault();
    const form = event.currentTarget;
    const data = new FormData(form);
    const name = (data.get('name') as string | null)?.trim() ?? '';
    const value = (data.get('value') as string | null) ?? '';
    setError(undefined);
    api.setSecret(name, value).then(
      () => {
        form.reset();
        setNote(`Stored "${name}" in the OS keychain. Reference it in the config as \${secret:${name}}.`);
        reload();
      },
      (e: unknown) => setError(message(e)),
    );
  };
  const remove = (name: string): void => {
    if (!window.confirm(`Delete the secret "${name}" from the keychain? Servers that use it will not start.`))
      return;
    api.deleteSecret(name).then(
      () => {
        setNote(`Deleted "${name}".`);
        reload();
      },
      (e: unknown) => setError(message(e)),
    );
  };
  return (
    <section aria-labelledby="secrets-title">
      <h1 id="secrets-title">Secrets</h1>
      <p className="muted">Stored in the OS keychain. Values are never shown here.</p>
      {(error ?? secrets.error) && (
        <p className="error" role="alert">
          {error ?? secrets.error}
        </p>
      )}
      {note && <p role="status">{note}</p>}
      <table>
        <thead>
          <tr>
            <th>Name</th>
            <th>Used by</th>
            <th>Bound to</th>
            <th />
          </tr>
        </thead>
        <tbody>
          {secrets.data?.map((s) => (
            <tr key={s.name}>
              <td>
                <code>{s.name}</code>
              </td>
              <td>{s.usedBy.join(', ') || '—'}</td>
              <td>{s.boundTo ?? 'any server that references it'}</td>
              <td>
                <button type="button" className="deny" onClick={() => remove(s.name)}>
                  Delete
                </button>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      {secrets.data?.length === 0 && <p className="muted">No secrets yet.</p>}
      <form className="add-secret" onSubmit={add} aria-label="add a secret">
        <h2>Add a secret</h2>
        <label>
          Name
          <input name="name" required pattern="[A-Za-z0-9][A-Za-z0-9_.\-]{0,127}" autoComplete="off" />
        </label>
        <label>
          Value
          <input name="value" type="password" required autoComplete="new-password" />
        </label>
        <button type="submit">Store in keychain</button>
      </form>
    </section>
  );
}
