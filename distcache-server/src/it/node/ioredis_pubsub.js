'use strict';
// ioredis subscribe/psubscribe against one distcache node (run by PubSubScriptClientsIT).
//
// Usage: node ioredis_pubsub.js HOST PORT
//
// Subscribes to a channel and a pattern on one connection, publishes from another, prints one
// line per message received ("message CHANNEL DATA" or "pmessage PATTERN CHANNEL DATA"), then
// "ok"; "fail ..." and exit 1 on any surprise or after 10 s.
const Redis = require('ioredis');

const [host, portText] = process.argv.slice(2);
const port = Number(portText);
const sub = new Redis({ host, port, lazyConnect: false });
const pub = new Redis({ host, port });
const got = [];
const timer = setTimeout(() => {
  console.log('fail timeout with ' + JSON.stringify(got));
  process.exit(1);
}, 10000);

sub.on('message', (channel, message) => {
  got.push(`message ${channel} ${message}`);
  done();
});
sub.on('pmessage', (pattern, channel, message) => {
  got.push(`pmessage ${pattern} ${channel} ${message}`);
  done();
});

function done() {
  if (got.length < 3) {
    return;
  }
  clearTimeout(timer);
  for (const line of got) {
    console.log(line);
  }
  sub.unsubscribe('jobs').then(() => sub.punsubscribe('job*')).then(() => sub.ping()).then((pong) => {
    console.log('after unsubscribe ' + pong);
    console.log('ok');
    sub.disconnect();
    pub.disconnect();
  });
}

(async () => {
  try {
    const n = await sub.subscribe('jobs');
    const m = await sub.psubscribe('job*');
    if (n !== 1 || m !== 2) {
      console.log(`fail subscribe counts ${n} ${m}`);
      process.exit(1);
    }
    const receivers = await pub.publish('jobs', 'j1');
    if (receivers !== 2) {
      console.log(`fail publish answered ${receivers}, expected 2`);
      process.exit(1);
    }
    await pub.publish('jobless', 'j2');
  } catch (e) {
    console.log('fail ' + e.message);
    process.exit(1);
  }
})();
