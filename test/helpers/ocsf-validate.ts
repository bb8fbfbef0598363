/**
 * Validates events against an OCSF event class as the schema's own definition files describe it
 * (test/data/ocsf-1.8.0: dictionary, classes, objects, profiles, copied from ocsf/ocsf-schema):
 * the class's attributes merged down its `extends` chain with the `$include`d profiles, each
 * object's attributes down its own chain. An event passes when it has every `required`
 * attribute, no attribute the class or object does not define (`unmapped` holds the rest), every
 * value of its dictionary type (string, integer in range, long, timestamp in ms, boolean, float,
 * json, array, object of its object type), every `*_id` one of its enum's values, every object's
 * `at_least_one` constraint met, `class_uid` = category * 1000 + class uid and `type_uid` =
 * class_uid * 100 + activity_id.
 */
import fs from 'node:fs';
import path from 'node:path';

interface AttributeDef {
  type?: string;
  is_array?: boolean;
  requirement?: string;
  enum?: Record<string, { caption: string }>;
  sibling?: string;
}

interface Definition {
  name: string;
  uid?: number;
  category?: string;
  extends?: string;
  attributes: Record<string, AttributeDef> & { $include?: string[] };
  constraints?: { at_least_one?: string[]; just_one?: string[] };
}

interface TypeDef {
  type?: string;
  regex?: string;
  max_len?: number;
  range?: [number, number];
}

/** Where the copy of the schema is, by version. */
export function ocsfSchemaDir(version: string): string {
  return path.join(import.meta.dirname, '..', 'data', `ocsf-${version}`);
}

export class OcsfSchema {
  readonly version: string;
  readonly #dir: string;
  readonly #dictionary: Record<string, AttributeDef>;
  readonly #types: Record<string, TypeDef>;
  readonly #objects = new Map<
    string,
    { attributes: Record<string, AttributeDef>; constraints?: Definition['constraints'] }
  >();

  constructor(dir: string) {
    this.#dir = dir;
    this.version = (this.#read('version.json') as { version: string }).version;
    const dictionary = this.#read('dictionary.json') as {
      attributes: Record<string, AttributeDef>;
      types: { attributes: Record<string, TypeDef> };
    };
    this.#dictionary = dictionary.attributes;
    this.#types = dictionary.types.attributes;
  }

  /**
   * The problems of `event` as an event of the class in `classFile` (relative to the schema
   * dir, e.g. "events/application/api_activity.json"); empty when it is valid.
   */
  validate(event: unknown, classFile: string): string[] {
    const problems: string[] = [];
    const cls = this.#read(classFile) as Definition;
    const attributes = this.#merged(cls, 'events');
    const categories = (this.#read('categories.json') as { attributes: Record<string, { uid: number }> })
      .attributes;
    const category = this.#chain(cls, 'events')
      .reverse()
      .find((d) => d.category)?.category;
    const categoryUid = category ? categories[category]?.uid : undefined;
    if (!isObject(event)) return ['the event is not a JSON object'];
    this.#checkObject(event, attributes, undefined, '', problems);
    if (categoryUid !== undefined && cls.uid !== undefined) {
      const classUid = categoryUid * 1000 + cls.uid;
      if (event.class_uid !== classUid)
        problems.push(`class_uid: expected ${classUid}, got ${String(event.class_uid)}`);
      if (event.category_uid !== categoryUid)
        problems.push(`category_uid: expected ${categoryUid}, got ${String(event.category_uid)}`);
      const typeUid = classUid * 100 + Number(event.activity_id);
      if (event.type_uid !== typeUid)
        problems.push(`type_uid: expected ${typeUid}, got ${String(event.type_uid)}`);
    }
    return problems;
  }

  #read(file: string): unknown {
    return JSON.parse(fs.readFileSync(path.join(this.#dir, file), 'utf8')) as unknown;
  }

  /** The definition and those it extends, most general first. */
  #chain(definition: Definition, kind: 'events' | 'objects'): Definition[] {
    const chain = [definition];
    let current = definition;
    while (current.extends && current.extends !== 'object') {
      current = this.#read(
        kind === 'events' ? this.#classFile(current.extends) : `objects/${current.extends}.json`,
      ) as Definition;
      chain.unshift(current);
    }
    return chain;
  }

  #classFile(name: string): string {
    if (name === 'base_event') return 'events/base_event.json';
    return `events/${name}/${name}.json`;
  }

  /** Attributes down the chain, each merged over the dictionary's definition; enums unioned. */
  #merged(definition: Definition, kind: 'events' | 'objects'): Record<string, AttributeDef> {
    const merged: Record<string, AttributeDef> = {};
    const add = (attributes: Definition['attributes']): void => {
      for (const include of attributes.$include ?? []) {
        const profile = this.#read(include) as Definition;
        // A profile's attributes are the class's when the profile is applied: never required then.
        add(
          Object.fromEntries(
            Object.entries(profile.attributes as Record<string, AttributeDef>).map(([k, v]) => [
              k,
              { ...v, requirement: v.requirement === 'required' ? 'optional' : v.requirement },
            ]),
          ),
        );
      }
      for (const [name, def] of Object.entries(attributes)) {
        if (name === '$include') continue;
        const before = merged[name] ?? this.#dictionary[name] ?? {};
        const own = def as AttributeDef;
        merged[name] = {
          ...before,
          ...own,
          ...(before.enum || own.enum ? { enum: { ...before.enum, ...own.enum } } : {}),
        };
      }
    };
    for (const each of this.#chain(definition, kind)) add(each.attributes);
    return merged;
  }

  #object(name: string): {
    attributes: Record<string, AttributeDef>;
    constraints?: Definition['constraints'];
  } {
    let object = this.#objects.get(name);
    if (!object) {
      const definition = this.#read(`objects/${name}.json`) as Definition;
      const chain = this.#chain(definition, 'objects');
      const constraints = [...chain].reverse().find((d) => d.constraints)?.constraints;
      object = { attributes: this.#merged(definition, 'objects'), ...(constraints ? { constraints } : {}) };
      this.#objects.set(name, object);
    }
    return object;
  }

  #checkObject(
    value: Record<string, unknown>,
    attributes: Record<string, AttributeDef>,
    constraints: Definition['constraints'] | undefined,
    at: string,
    problems: string[],
  ): void {
    for (const [name, def] of Object.entries(attributes)) {
      if (def.requirement === 'required' && value[name] === undefined)
        problems.push(`${at}${name}: required, missing`);
    }
    if (constraints?.at_least_one && !constraints.at_least_one.some((name) => value[name] !== undefined)) {
      problems.push(
        `${at.replace(/\.$/, '') || 'event'}: needs at least one of ${constraints.at_least_one.join(', ')}`,
      );
    }
    for (const [name, item] of Object.entries(value)) {
      const def = attributes[name];
      if (!def) {
        problems.push(`${at}${name}: not an attribute here`);
        continue;
      }
      if (item === null || item === undefined) {
        problems.push(`${at}${name}: null (leave an absent value out)`);
        continue;
      }
      if (def.is_array) {
        if (!Array.isArray(item)) problems.push(`${at}${name}: expected an array`);
        else item.forEach((each, i) => this.#checkValue(each, def, `${at}${name}[${i}]`, problems));
      } else this.#checkValue(item, def, `${at}${name}`, problems);
      const shown = JSON.stringify(item);
      if (def.enum && name.endsWith('_id') && !Object.hasOwn(def.enum, shown)) {
        problems.push(`${at}${name}: ${shown} is not one of ${Object.keys(def.enum).join(', ')}`);
      }
      // A caption sibling (severity for severity_id, ...) names the enum's caption unless Other.
      const sibling = def.sibling;
      const caption = def.enum?.[shown]?.caption;
      if (sibling && caption && item !== 99 && value[sibling] !== undefined && value[sibling] !== caption) {
        problems.push(
          `${at}${sibling}: expected "${caption}" for ${name} ${shown}, got ${JSON.stringify(value[sibling])}`,
        );
      }
    }
  }

  #checkValue(item: unknown, def: AttributeDef, at: string, problems: string[]): void {
    const type = def.type ?? 'string_t';
    if (type === 'object' || type === 'json_t') {
      if (type === 'object' && !isObject(item)) problems.push(`${at}: expected an object`);
      return;
    }
    if (!type.endsWith('_t')) {
      if (!isObject(item)) {
        problems.push(`${at}: expected an object (${type})`);
        return;
      }
      const object = this.#object(type);
      this.#checkObject(item, object.attributes, object.constraints, `${at}.`, problems);
      return;
    }
    this.#checkScalar(item, type, at, problems);
  }

  #checkScalar(item: unknown, type: string, at: string, problems: string[]): void {
    const def = this.#types[type];
    if (!def) {
      problems.push(`${at}: unknown type ${type}`);
      return;
    }
    const base = def.type ?? type;
    if (base !== type) this.#checkScalar(item, base, at, problems);
    switch (type) {
      case 'string_t':
        if (typeof item !== 'string') problems.push(`${at}: expected a string, got ${JSON.stringify(item)}`);
        break;
      case 'integer_t':
        if (!Number.isInteger(item) || Math.abs(item as number) > 2 ** 31)
          problems.push(`${at}: expected a 32-bit integer, got ${JSON.stringify(item)}`);
        break;
      case 'long_t':
        if (!Number.isSafeInteger(item))
          problems.push(`${at}: expected an integer, got ${JSON.stringify(item)}`);
        break;
      case 'float_t':
        if (typeof item !== 'number') problems.push(`${at}: expected a number`);
        break;
      case 'boolean_t':
        if (typeof item !== 'boolean') problems.push(`${at}: expected a boolean`);
        break;
      default:
        break;
    }
    if (typeof item === 'string') {
      if (def.regex && !new RegExp(def.regex).test(item))
        problems.push(`${at}: "${item}" does not match ${type}`);
      if (def.max_len !== undefined && item.length > def.max_len)
        problems.push(`${at}: longer than ${def.max_len}`);
    }
    if (typeof item === 'number' && def.range && (item < def.range[0] || item > def.range[1])) {
      problems.push(`${at}: ${item} outside ${def.range.join('..')}`);
    }
    // A timestamp is ms since the epoch: one in seconds would be in 1970.
    if (type === 'timestamp_t' && typeof item === 'number' && item < 1e11)
      problems.push(`${at}: not in ms since the epoch`);
  }
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
