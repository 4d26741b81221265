'use strict';
// ioredis's Redis.Cluster driven line by line from stdin by PythonAndNodeClusterClientsIT.
//
// Usage: node ioredis_cluster.js HOST PORT KEY_PREFIX [cluster|plain]
//
// cluster (the default) is Redis.Cluster; plain is a plain Redis on the one node HOST:PORT, which
// a node must serve by forwarding, never by a redirect (a MOVED would surface as an error).
//
// Commands on stdin, one per line; one reply line per command on stdout:
//   load N        write N keys PREFIX:0..N-1, then read each back
//   traffic SECS  random GET/SET over the loaded keys for SECS seconds
//   tx N          (plain only) N rounds of: multi() ... exec() that must answer in order; one with
//                 an unknown command, which must fail and apply nothing; one whose WATCHed key
//                 another connection changes, whose exec() must answer null and apply nothing.
//                 Counts: aborted (failed as they must), applied (writes of a failed transaction
//                 that were applied: must be 0)
//   quit          close the client and exit 0
// A reply is "ok key=value ..." (or "fail ..."), with error=<first error> last when there was one.
// A GET may miss (a node drops the keys of slots it loses) but must never return another value
// than the last one this script wrote: that is counted in mismatches.
// ioredis comes from package-lock.json in this folder (npm ci).
const readline = require('readline');
const Redis = require('ioredis');
const version = require('ioredis/package.json').version;

const [host, portText, prefix, modeArg] = process.argv.slice(2);
const port = Number(portText);
const mode = modeArg || 'cluster';

function reply(words, error) {
  let line = words.join(' ');
  if (error !== undefined && error !== null) {
    line += ' error=' + String(error && error.message ? error.message : error).split(/\s+/).join(' ').slice(0, 300);
  }
  process.stdout.write(line + '\n');
}

// A seeded generator, so runs are comparable.
let seed = 7;
function random() {
  seed = (seed * 1103515245 + 12345) & 0x7fffffff;
  return seed / 0x80000000;
}

const events = { refresh: 0, nodeError: 0 };
let lastError = null; // the newest 'error' or 'node error', shown when the cluster never gets ready
const cluster = mode === 'plain'
  ? new Redis({ host, port, connectTimeout: 5000, commandTimeout: 5000, retryStrategy: (times) => (times > 3 ? null : 200) })
  : new Redis.Cluster([{ host, port }], {
    redisOptions: { connectTimeout: 5000, commandTimeout: 5000 },
    slotsRefreshTimeout: 5000,
    clusterRetryStrategy: (times) => (times > 3 ? null : 200),
  });
const nodeCount = () => (mode === 'plain' ? 1 : cluster.nodes('master').length);
cluster.on('refresh', () => { events.refresh++; });
cluster.on('node error', (e, node) => {
  events.nodeError++;
  lastError = `${node}: ${e && e.message}`;
});
cluster.on('error', (e) => { // commands report their own errors; keep the cause for the ready check
  lastError = (e && e.lastNodeError) ? `${e.message} (${e.lastNodeError.message})` : (e && e.message);
});

const expected = new Map(); // key -> last value written
let gen = 0;

async function load(n) {
  const r = { ops: 0, misses: 0, mismatches: 0, errors: 0, firstError: null };
  gen++;
  const keys = [];
  for (let i = 0; i < n; i++) keys.push(`${prefix}:${i}`);
  for (const k of keys) {
    try {
      const v = `${k}:${gen}`;
      await cluster.set(k, v);
      expected.set(k, v);
    } catch (e) {
      r.errors++;
      r.firstError = r.firstError || e;
    }
    r.ops++;
  }
  for (const k of keys) {
    try {
      const got = await cluster.get(k);
      if (got === null) r.misses++;
      else if (got !== expected.get(k)) r.mismatches++;
    } catch (e) {
      r.errors++;
      r.firstError = r.firstError || e;
    }
    r.ops++;
  }
  return r;
}

async function traffic(seconds) {
  const r = { ops: 0, misses: 0, mismatches: 0, errors: 0, firstError: null };
  const keys = [...expected.keys()];
  const deadline = Date.now() + seconds * 1000;
  while (Date.now() < deadline) {
    const k = keys[Math.floor(random() * keys.length)];
    try {
      if (random() < 0.5) {
        gen++;
        const v = `${k}:${gen}`;
        await cluster.set(k, v);
        expected.set(k, v);
      } else {
        const got = await cluster.get(k);
        if (got === null) r.misses++;
        else if (got !== expected.get(k)) r.mismatches++;
      }
    } catch (e) {
      r.errors++;
      r.firstError = r.firstError || e;
    }
    r.ops++;
  }
  return r;
}

async function tx(n) {
  const r = { ops: 0, mismatches: 0, errors: 0, aborted: 0, applied: 0, firstError: null };
  const other = new Redis({ host, port, connectTimeout: 5000, commandTimeout: 5000 });
  const base = `{${prefix}:tx}`;
  for (let i = 0; i < n; i++) {
    const v = `v${i}`;
    try {
      const got = await cluster.multi().set(`${base}:a`, v).incr(`${base}:n`).get(`${base}:a`).exec();
      const want = [[null, 'OK'], [null, i + 1], [null, v]];
      if (JSON.stringify(got) !== JSON.stringify(want)) r.mismatches++;
    } catch (e) {
      r.errors++;
      r.firstError = r.firstError || e;
    }
    r.ops++;
    try {
      await cluster.multi().set(`${base}:bad`, v).call('NOSUCHCOMMAND', 'x').exec();
      r.errors++;
      r.firstError = r.firstError || 'a transaction with an unknown command succeeded';
    } catch (e) {
      if (String(e.message).startsWith('EXECABORT')) r.aborted++;
      else { r.errors++; r.firstError = r.firstError || e; }
    }
    r.ops++;
    if (await cluster.get(`${base}:bad`) !== null) r.applied++;
    await cluster.watch(`${base}:w`);
    await other.set(`${base}:w`, v);
    const watched = await cluster.multi().set(`${base}:w`, 'mine').set(`${base}:bad`, 'watched').exec();
    if (watched === null) r.aborted++;
    else { r.errors++; r.firstError = r.firstError || 'EXEC ran although a watched key changed'; }
    r.ops++;
    if (await cluster.get(`${base}:w`) !== v || await cluster.get(`${base}:bad`) !== null) r.applied++;
  }
  other.disconnect();
  reply(['ok', `ops=${r.ops}`, `mismatches=${r.mismatches}`, `errors=${r.errors}`, `aborted=${r.aborted}`,
    `applied=${r.applied}`], r.firstError);
}

function summary(r) {
  reply(['ok', `ops=${r.ops}`, `misses=${r.misses}`, `mismatches=${r.mismatches}`, `errors=${r.errors}`,
    `nodes=${nodeCount()}`, `refreshes=${events.refresh}`, `node_errors=${events.nodeError}`],
  r.firstError);
}

async function main() {
  const clientName = `client=ioredis-${version}-${mode}`;
  try {
    await new Promise((resolve, reject) => {
      cluster.once('ready', resolve);
      cluster.once('end', () => reject(new Error(`cluster connection ended before ready; last error: ${lastError}`)));
    });
  } catch (e) {
    reply(['fail', clientName], e);
    cluster.disconnect();
    process.exitCode = 2;
    return;
  }
  reply(['ready', clientName, `nodes=${nodeCount()}`]);
  const lines = readline.createInterface({ input: process.stdin });
  for await (const line of lines) {
    const parts = line.trim().split(/\s+/);
    if (parts[0] === '') continue;
    if (parts[0] === 'quit') {
      await cluster.quit().catch(() => cluster.disconnect());
      reply(['bye']);
      return;
    }
    if (parts[0] === 'load') summary(await load(Number(parts[1])));
    else if (parts[0] === 'traffic') summary(await traffic(Number(parts[1])));
    else if (parts[0] === 'tx' && mode === 'plain') await tx(Number(parts[1]));
    else reply(['fail'], `unknown command ${parts[0]}`);
  }
  cluster.disconnect();
}

main().catch((e) => {
  reply(['fail'], e);
  process.exitCode = 2;
});
