// Renders one mapping-template corpus case with velocityjs, with `$input`, `$util`,
// `$context` and `$stageVariables` implemented as API Gateway documents them
// (docs/behaviour.md §4.6; "API Gateway mapping template and access logging variable reference").
// Written for this project; the behaviour follows the AWS documentation, not an emulator.

import { render } from 'velocityjs';

// === JSONPath: the subset API Gateway templates use ===

/** Parses `$`, `.name`, `['name']`, `["name"]`, `[n]`, `[*]`, `.*` and `..name` steps. */
function parsePath(path) {
  const text = path.trim();
  if (!text.startsWith('$')) throw new Error(`JSONPath must start with $: ${path}`);
  const steps = [];
  let i = 1;
  while (i < text.length) {
    if (text.startsWith('..', i)) {
      i += 2;
      const m = /^[A-Za-z0-9_$-]+|^\*/.exec(text.slice(i));
      if (!m) throw new Error(`bad deep scan in ${path}`);
      steps.push({ deep: m[0] });
      i += m[0].length;
    } else if (text[i] === '.') {
      i += 1;
      const m = /^[A-Za-z0-9_$-]+|^\*/.exec(text.slice(i));
      if (!m) throw new Error(`bad member in ${path}`);
      steps.push(m[0] === '*' ? { wildcard: true } : { key: m[0] });
      i += m[0].length;
    } else if (text[i] === '[') {
      const end = text.indexOf(']', i);
      if (end < 0) throw new Error(`unclosed [ in ${path}`);
      const inner = text.slice(i + 1, end).trim();
      i = end + 1;
      if (inner === '*') steps.push({ wildcard: true });
      else if (/^-?\d+$/.test(inner)) steps.push({ index: Number(inner) });
      else if (/^'.*'$|^".*"$/.test(inner)) steps.push({ key: inner.slice(1, -1) });
      else throw new Error(`unsupported selector [${inner}] in ${path}`);
    } else {
      throw new Error(`unexpected ${text[i]} in ${path}`);
    }
  }
  return steps;
}

function deepScan(value, name, out) {
  if (Array.isArray(value)) value.forEach((v) => deepScan(v, name, out));
  else if (value && typeof value === 'object') {
    for (const [k, v] of Object.entries(value)) {
      if (name === '*' || k === name) out.push(v);
      deepScan(v, name, out);
    }
  }
}

/** `{ values, definite }`: the selected values, and whether the path selects at most one. */
function select(doc, path) {
  const steps = parsePath(path);
  let values = [doc];
  let definite = true;
  for (const step of steps) {
    const next = [];
    for (const v of values) {
      if ('key' in step) {
        if (v && typeof v === 'object' && !Array.isArray(v) && Object.hasOwn(v, step.key)) next.push(v[step.key]);
      } else if ('index' in step) {
        if (Array.isArray(v)) {
          const idx = step.index < 0 ? v.length + step.index : step.index;
          if (idx >= 0 && idx < v.length) next.push(v[idx]);
        }
      } else if (step.wildcard) {
        definite = false;
        if (Array.isArray(v)) next.push(...v);
        else if (v && typeof v === 'object') next.push(...Object.values(v));
      } else if ('deep' in step) {
        definite = false;
        deepScan(v, step.deep, next);
      }
    }
    values = next;
  }
  return { values, definite };
}

// === $input ===

/** A copy with keys in name order: Switchboard keeps parameters and stage variables in
 * name order (API Gateway's order is Java HashMap order, which no one can rely on). */
function sorted(obj) {
  return Object.fromEntries(Object.entries(obj ?? {}).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

function makeInput(body, params) {
  const parsed = () => JSON.parse(body);
  const allParams = {
    path: sorted(params?.path),
    querystring: sorted(params?.querystring),
    header: sorted(params?.header),
  };
  return {
    body,
    /** Compact JSON of the selection; a definite path matching nothing gives "". */
    json(path) {
      const { values, definite } = select(parsed(), path);
      if (definite) return values.length ? JSON.stringify(values[0]) : '';
      return JSON.stringify(values);
    },
    /** The selection as a value (object, list, string, number, boolean); missing is null. */
    path(path) {
      const { values, definite } = select(parsed(), path);
      if (definite) return values.length ? values[0] : undefined;
      return values;
    },
    /** No name: all parameters; a name: path, then query string, then header. */
    params(name) {
      if (name === undefined) return allParams;
      for (const kind of ['path', 'querystring']) {
        if (Object.hasOwn(allParams[kind], name)) return allParams[kind][name];
      }
      if (Object.hasOwn(allParams.header, name)) return allParams.header[name];
      const lower = String(name).toLowerCase();
      const found = Object.keys(allParams.header).find((k) => k.toLowerCase() === lower);
      return found === undefined ? '' : allParams.header[found];
    },
  };
}

// === $util ===

/** Java's StringEscapeUtils.escapeJavaScript, which API Gateway's $util.escapeJavaScript is. */
function escapeJavaScript(s) {
  let out = '';
  for (const ch of String(s)) {
    const code = ch.codePointAt(0);
    switch (ch) {
      case "'": out += "\\'"; break;
      case '"': out += '\\"'; break;
      case '\\': out += '\\\\'; break;
      case '/': out += '\\/'; break;
      case '\b': out += '\\b'; break;
      case '\n': out += '\\n'; break;
      case '\t': out += '\\t'; break;
      case '\f': out += '\\f'; break;
      case '\r': out += '\\r'; break;
      default:
        if (code < 0x20 || code > 0x7f) {
          for (let i = 0; i < ch.length; i++) {
            out += '\\u' + ch.charCodeAt(i).toString(16).toUpperCase().padStart(4, '0');
          }
        } else out += ch;
    }
  }
  return out;
}

/** java.net.URLEncoder.encode(s, "UTF-8"). */
function urlEncode(s) {
  let out = '';
  for (const byte of Buffer.from(String(s), 'utf8')) {
    const c = String.fromCharCode(byte);
    if (/[A-Za-z0-9.\-*_]/.test(c)) out += c;
    else if (c === ' ') out += '+';
    else out += '%' + byte.toString(16).toUpperCase().padStart(2, '0');
  }
  return out;
}

/** java.net.URLDecoder.decode(s, "UTF-8"). */
function urlDecode(s) {
  return decodeURIComponent(String(s).replace(/\+/g, ' '));
}

const util = {
  escapeJavaScript,
  parseJson: (s) => JSON.parse(s),
  urlEncode,
  urlDecode,
  base64Encode: (s) => Buffer.from(String(s), 'utf8').toString('base64'),
  base64Decode: (s) => Buffer.from(String(s), 'base64').toString('utf8'),
};

// === java.lang.String / List / Map methods templates call that JavaScript lacks ===

const isString = (v) => typeof v === 'string';
const isMap = (v) => v !== null && typeof v === 'object' && !Array.isArray(v);
const method = (name, test, resolve) => ({
  uid: `java: ${name}`,
  match: ({ property, context }) => property === name && test(context),
  resolve,
});
/** Java regex replacement strings use `$1`; so do JavaScript's, close enough for templates. */
const javaMethods = [
  method('length', isString, ({ context }) => [...context].length),
  method('isEmpty', (c) => isString(c) || Array.isArray(c) || isMap(c), ({ context }) =>
    isMap(context) ? Object.keys(context).length === 0 : context.length === 0),
  method('contains', (c) => isString(c) || Array.isArray(c), ({ context, params }) => context.includes(params[0])),
  method('containsKey', isMap, ({ context, params }) => Object.hasOwn(context, params[0])),
  method('values', isMap, ({ context }) => Object.values(context)),
  method('equals', () => true, ({ context, params }) => context === params[0]),
  method('equalsIgnoreCase', isString, ({ context, params }) =>
    isString(params[0]) && context.toLowerCase() === params[0].toLowerCase()),
  method('matches', isString, ({ context, params }) => new RegExp(`^(?:${params[0]})$`).test(context)),
  method('replaceAll', isString, ({ context, params }) => context.replace(new RegExp(params[0], 'g'), params[1])),
  method('replaceFirst', isString, ({ context, params }) => context.replace(new RegExp(params[0]), params[1])),
  method('replace', isString, ({ context, params }) => context.split(String(params[0])).join(String(params[1]))),
  method('split', isString, ({ context, params }) => {
    const parts = context.split(new RegExp(params[0]));
    while (parts.length > 1 && parts[parts.length - 1] === '') parts.pop();
    return parts;
  }),
];

/** Renders one corpus case; returns `{ output }` or `{ error }`. */
export function renderCase(c) {
  const context = {
    input: makeInput(c.body, c.params),
    util,
    context: structuredClone(c.context),
    stageVariables: sorted(c.stageVariables),
  };
  try {
    const output = render(c.template, context, {}, { escape: false, customMethodHandlers: javaMethods });
    return { output };
  } catch (e) {
    return { error: String(e && e.message ? e.message : e) };
  }
}
