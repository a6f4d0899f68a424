// Object shapes: the list of an object's keys, in its own order. The codec interns a shape as one string (so
// that every thread gives it the same id) and decodes objects of a shape with one generated object literal.

const SHAPE_PREFIX = '\u0001';

/**
 * The interned text of a shape: a prefix, then its keys, each written `<length>:<key>`. A string value with
 * the same text would share its id, which is harmless: the tag byte tells a string from an object.
 */
export function shapeText(keys: readonly string[]): string {
  return SHAPE_PREFIX + keys.map((k) => `${k.length}:${k}`).join('');
}

/**
 * A function that builds an object of these keys, in this order, from an array of values, with one object
 * literal: much faster than adding properties one by one with computed names, and every object of a shape
 * gets the same hidden class.
 */
export function makeBuilder(keys: readonly string[]): (values: unknown[]) => Record<string, unknown> {
  // Keys are JSON-quoted; "__proto__" is written computed so that it stays an own property.
  const props = keys.map((k, i) => `${k === '__proto__' ? '["__proto__"]' : JSON.stringify(k)}: v[${i}]`);
  return new Function('v', `return { ${props.join(', ')} };`) as (values: unknown[]) => Record<string, unknown>;
}

/** The keys of a shape's interned text (shapeText's inverse). */
export function parseShape(text: string): string[] {
  const keys: string[] = [];
  let i = SHAPE_PREFIX.length;
  while (i < text.length) {
    const colon = text.indexOf(':', i);
    const len = Number(text.slice(i, colon));
    keys.push(text.slice(colon + 1, colon + 1 + len));
    i = colon + 1 + len;
  }
  return keys;
}
