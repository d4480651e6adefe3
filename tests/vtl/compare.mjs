// Differential test of the mapping-template engine: renders every case of
// crates/switchboard-core/tests/vtl-corpus with velocityjs (render.mjs) and with Switchboard
// (the `vtl_render` example), and fails unless the outputs are equal — except for the cases in
// EXPECTED_DIFFERENCES, where API Gateway (Velocity 1.7 + Java) is known to differ from
// velocityjs: there Switchboard must produce the case's `expected` output and velocityjs must
// still differ (so a stale entry is noticed).
//
//   npm ci --prefix tests/vtl && node tests/vtl/compare.mjs
//
// SWITCHBOARD_VTL_RENDER=/path/to/vtl_render skips `cargo run`.

import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { renderCase } from './render.mjs';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const corpus = join(root, 'crates', 'switchboard-core', 'tests', 'vtl-corpus');

/** Case name (file name without its number) → why API Gateway's output differs from velocityjs's. */
export const EXPECTED_DIFFERENCES = {
  'arithmetic-integers':
    'Velocity 1.7 divides two integers as Java does (17 / 5 = 3); velocityjs uses JavaScript division (3.4).',
  'arithmetic-from-input':
    'Velocity 1.7 consumes the blanks right before #set( (they belong to the #set token); velocityjs keeps them.',
  'foreach-break':
    'Velocity 1.7 #break inside #if leaves the enclosing #foreach at once; velocityjs finishes the current iteration.',
  'comments':
    'Velocity 1.7 keeps the line break after a #* block comment *#; velocityjs drops it.',
  'stop-directive':
    'Velocity 1.7 #stop ends rendering; velocityjs 2.x only recognises #stop() with parentheses and prints #stop as text.',
};

function rustOutputs() {
  const bin = process.env.SWITCHBOARD_VTL_RENDER;
  const out = bin
    ? execFileSync(bin, [corpus], { encoding: 'utf8', maxBuffer: 64 << 20 })
    : execFileSync('cargo', ['run', '-q', '-p', 'switchboard-core', '--example', 'vtl_render', '--', corpus], {
        cwd: root,
        encoding: 'utf8',
        maxBuffer: 64 << 20,
        stdio: ['ignore', 'pipe', 'inherit'],
      });
  return JSON.parse(out);
}

const show = (r) => (r.error !== undefined ? `ERROR ${r.error}` : JSON.stringify(r.output));

const files = readdirSync(corpus).filter((f) => f.endsWith('.json')).sort();
const rust = rustOutputs();
let passed = 0;
const failures = [];
for (const file of files) {
  const name = file.replace(/\.json$/, '');
  const c = JSON.parse(readFileSync(join(corpus, file), 'utf8'));
  const js = renderCase(c);
  const rs = rust[name];
  if (!rs) {
    failures.push(`${name}: no Switchboard output`);
    continue;
  }
  if (rs.error !== undefined) {
    failures.push(`${name}: Switchboard failed: ${rs.error}`);
    continue;
  }
  const reason = EXPECTED_DIFFERENCES[name.replace(/^\d+-/, '')];
  if (reason) {
    if (c.expected === undefined) failures.push(`${name}: listed as a difference but has no "expected" output`);
    else if (rs.output !== c.expected) failures.push(`${name}: Switchboard ${show(rs)} != expected ${JSON.stringify(c.expected)}`);
    else if (js.error === undefined && js.output === rs.output) failures.push(`${name}: listed as a difference but velocityjs now agrees; remove it`);
    else passed++;
    continue;
  }
  if (js.error !== undefined || js.output !== rs.output) {
    failures.push(`${name}:\n  switchboard ${show(rs)}\n  velocityjs  ${show(js)}`);
  } else if (c.expected !== undefined && c.expected !== rs.output) {
    failures.push(`${name}: both engines give ${show(rs)} but expected ${JSON.stringify(c.expected)}`);
  } else passed++;
}
const caseNames = new Set(files.map((f) => f.replace(/\.json$/, '').replace(/^\d+-/, '')));
for (const name of Object.keys(EXPECTED_DIFFERENCES)) {
  if (!caseNames.has(name)) failures.push(`EXPECTED_DIFFERENCES names a missing case ${name}`);
}
if (failures.length) console.log(failures.join('\n'));
console.log(`${passed} passed, ${failures.length} failed`);
process.exit(failures.length ? 1 : 0);
