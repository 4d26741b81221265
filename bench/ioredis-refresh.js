// How long ioredis takes to refresh its slot map from a node: ten refreshSlotsCache() calls.
//   IOREDIS=$PWD/distcache-server/src/it/node/node_modules/ioredis node bench/ioredis-refresh.js PORT
// (after `npm install` in distcache-server/src/it/node). Only 127.0.0.1 is contacted. Not run by CI.
const Redis = require(process.env.IOREDIS || 'ioredis');
const port = parseInt(process.argv[2]);
(async () => {
  const c = new Redis.Cluster([{host: '127.0.0.1', port}], {enableReadyCheck: true});
  await new Promise((res, rej) => { c.once('ready', res); c.once('error', rej); });
  const times = [];
  for (let i = 0; i < 10; i++) {
    const t0 = process.hrtime.bigint();
    await new Promise((res, rej) => c.refreshSlotsCache((e) => e ? rej(e) : res()));
    times.push(Number(process.hrtime.bigint() - t0) / 1e6);
  }
  times.sort((a, b) => a - b);
  console.log(`port ${port}: refresh ms median ${times[5].toFixed(1)} min ${times[0].toFixed(1)} max ${times[9].toFixed(1)}`);
  c.disconnect();
})().catch(e => { console.error(e); process.exit(1); });
