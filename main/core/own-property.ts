/**
 * `record[key]` when `key` is the record's own property, else undefined: a server named
 * "constructor" or "toString" must not find Object.prototype's, and "__proto__" must not find
 * the prototype.
 */
export function ownValue<T>(record: Readonly<Record<string, T>> | undefined, key: string): T | undefined {
  // `!= null`: a JSON file may hold null where an object was expected.
  return record != null && Object.hasOwn(record, key) ? record[key] : undefined;
}
