// Differential test of the mapping-template engine against the engine API Gateway runs: renders
// every case of crates/switchboard-core/tests/vtl-corpus with Apache Velocity 1.7 on a JDK
// (tests/vtl/java, with $input on Jayway JsonPath + json-smart and $util on the Java library
// calls the AWS documentation describes) and with Switchboard (the `vtl_render` example), and
// fails unless the outputs are equal, byte for byte — except for the cases in
// KNOWN_DIFFERENCES, where the two must still differ (so a stale entry is noticed). Where a case
// records API Gateway's documented output (`expected`), Velocity must produce it too.
//
//   node tests/vtl/compare.mjs
//
// Needs javac and the Debian packages velocity and libjsonpath-java (scripts/test.sh installs
// them). The harness is compiled into target/vtl-java. SWITCHBOARD_VTL_RENDER=/path/to/vtl_render
// skips `cargo run`.

import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const corpus = join(root, 'crates', 'switchboard-core', 'tests', 'vtl-corpus');
const javaSources = join(root, 'tests', 'vtl', 'java');
const buildDir = join(process.env.CARGO_TARGET_DIR ?? join(root, 'target'), 'vtl-java');

/** The Debian jars the harness needs (package in the comment). */
const JARS = [
  'velocity.jar', // velocity (Apache Velocity 1.7)
  'commons-collections3.jar', // libcommons-collections3-java (Velocity's dependency)
  'commons-lang.jar', // libcommons-lang-java 2.6 (Velocity's dependency; StringEscapeUtils)
  'json-path.jar', // libjsonpath-java (Jayway JsonPath)
  'json-smart.jar', // libjson-smart-java (JsonPath's JSON provider)
  'asm.jar', // libasm-java (json-smart's dependency)
  'slf4j-api.jar', // libslf4j-java (JsonPath's logging)
  'slf4j-nop.jar',
].map((jar) => join('/usr/share/java', jar));

/**
 * Case name (file name without its number) → why Switchboard's output differs from Velocity
 * 1.7's in this harness. Each is a choice, not an oversight: see the reason.
 */
export const KNOWN_DIFFERENCES = {
  'known-integers-beyond-64-bits':
    'Java keeps integers past 64 bits exact (json-smart and Velocity use BigInteger); Switchboard has ' +
    'no big integers and turns them into doubles (12345678901234567890 prints as 1.2345678901234567E19).',
  'known-jsonpath-negative-index':
    "Debian's Jayway JsonPath is 2.0.0, which finds nothing at a negative index; later versions count " +
    'from the end, as Switchboard does. Which version API Gateway runs is not known.',
  'known-util-number-argument':
    'The harness declares the $util functions with String parameters, as the AWS documentation describes ' +
    'them, so Velocity finds no method for a number and prints the reference; Switchboard converts the ' +
    "argument to text. AWS's parameter types are not documented.",
  'known-base64-decode-blanks':
    "java.util.Base64's decoder rejects blanks (the render fails); Switchboard ignores blanks around the " +
    "text. Which decoder AWS uses is not documented.",
};

function velocityOutputs() {
  const missing = JARS.filter((jar) => !existsSync(jar));
  if (missing.length) {
    throw new Error(`missing ${missing.join(', ')} (Debian: apt-get install velocity libjsonpath-java)`);
  }
  const classpath = JARS.join(':');
  const sources = readdirSync(javaSources).filter((f) => f.endsWith('.java')).map((f) => join(javaSources, f));
  mkdirSync(buildDir, { recursive: true });
  execFileSync('javac', ['-Xlint:all', '-encoding', 'UTF-8', '-d', buildDir, '-cp', classpath, ...sources], {
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  const out = execFileSync('java', ['-cp', `${buildDir}:${classpath}`, 'VelocityRender', corpus], {
    encoding: 'utf8',
    maxBuffer: 64 << 20,
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  return JSON.parse(out);
}

function switchboardOutputs() {
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

const show = (r) => (r === undefined ? 'nothing' : r.error !== undefined ? `ERROR ${r.error}` : JSON.stringify(r.output));

const files = readdirSync(corpus).filter((f) => f.endsWith('.json')).sort();
if (files.length === 0) {
  console.log(`no corpus cases in ${corpus}`);
  process.exit(1);
}
let velocity;
try {
  velocity = velocityOutputs();
} catch (e) {
  const hint = e.code === 'ENOENT' ? ' (Debian: apt-get install default-jdk-headless)' : '';
  console.log(`Velocity 1.7 side failed: ${e.message}${hint}`);
  process.exit(1);
}
const switchboard = switchboardOutputs();
let agree = 0;
let differ = 0;
const failures = [];
for (const file of files) {
  const name = file.replace(/\.json$/, '');
  const c = JSON.parse(readFileSync(join(corpus, file), 'utf8'));
  const vm = velocity[name];
  const sb = switchboard[name];
  const reason = KNOWN_DIFFERENCES[name.replace(/^\d+-/, '')];
  if (reason) {
    if (sb?.output === undefined) failures.push(`${name}: Switchboard gave ${show(sb)}`);
    else if (sb.output === vm?.output) failures.push(`${name}: listed in KNOWN_DIFFERENCES but the engines now agree; remove it`);
    else {
      differ++;
      console.log(`known difference ${name}: switchboard ${show(sb)}, velocity 1.7 ${show(vm)}`);
    }
    continue;
  }
  if (vm?.output === undefined) {
    failures.push(`${name}: Velocity 1.7 gave ${show(vm)}`);
    continue;
  }
  if (sb?.output === undefined) {
    failures.push(`${name}: Switchboard gave ${show(sb)}`);
    continue;
  }
  if (c.expected !== undefined && vm.output !== c.expected) {
    failures.push(`${name}: Velocity 1.7 gives ${show(vm)} but the case expects ${JSON.stringify(c.expected)}`);
    continue;
  }
  if (sb.output !== vm.output) failures.push(`${name}:\n  switchboard  ${show(sb)}\n  velocity 1.7 ${show(vm)}`);
  else agree++;
}
const caseNames = new Set(files.map((f) => f.replace(/\.json$/, '').replace(/^\d+-/, '')));
for (const name of Object.keys(KNOWN_DIFFERENCES)) {
  if (!caseNames.has(name)) failures.push(`KNOWN_DIFFERENCES names a missing case ${name}`);
}
if (failures.length) console.log(failures.join('\n'));
console.log(
  `${files.length} cases: ${agree} agree with Velocity 1.7, ${differ} known differences, ${failures.length} failed`,
);
process.exit(failures.length ? 1 : 0);
