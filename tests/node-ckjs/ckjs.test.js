'use strict'
// confluent-kafka-javascript (@confluentinc/kafka-javascript, built from
// source by tests/node-ckjs/build.sh) against the harness broker over
// SASL_SSL, three ways in: its KafkaJS API with
// `oauthBearerProvider: () => provider.token()`, its node-rdkafka-style API
// with `oauthbearer_token_refresh_cb: provider.oauthbearerTokenRefreshCb`,
// and `plugin.library.paths` (libkafka_iam_oauth.so, no JS of ours). Each
// produces a message and consumes it back in the harness's group.
// Run by `make test-node-ckjs` (NODE_PATH finds both packages).

const { test } = require('node:test')
const assert = require('node:assert/strict')
const { once } = require('node:events')
const { spawnSync } = require('node:child_process')
const fs = require('node:fs')
const path = require('node:path')
const ckjs = require('@confluentinc/kafka-javascript')
const { TokenProvider } = require('kafka-iam-oauth')

const CKJS_PACKAGE = path.dirname(require.resolve('@confluentinc/kafka-javascript/package.json'))

const ENV = process.env
for (const k of ['KIO_EMULATOR_URL', 'KIO_AUDIENCE', 'KIO_BOOTSTRAP_SSL', 'KIO_CA_PEM', 'KIO_TOPIC', 'KIO_GROUP',
  'KIO_USER_ARN', 'KIO_PLUGIN_SO', 'KIO_STATIC_ADDON']) {
  assert.ok(ENV[k], `${k} is not set: make test-node-ckjs sets it and sources the harness's env.sh`)
}
const TOPIC = ENV.KIO_TOPIC
const GROUP = ENV.KIO_GROUP
/** How long a message may take to come back (group join included). */
const CONSUME_BOUND_MS = 60000

/** The library's configuration (`sasl.oauthbearer.config`) as a string. */
function configString (name) {
  // A tag of its own: a cache entry (and stats) of this test alone.
  return `region=eu-west-1,audience=${ENV.KIO_AUDIENCE},sts_endpoint=${ENV.KIO_EMULATOR_URL},` +
    `tag_ckjs_test=${name}-${process.pid}`
}

/** librdkafka's settings for the harness's SASL_SSL listener. */
const RDKAFKA_SSL = {
  'bootstrap.servers': ENV.KIO_BOOTSTRAP_SSL,
  'security.protocol': 'sasl_ssl',
  'ssl.ca.location': ENV.KIO_CA_PEM,
  'sasl.mechanisms': 'OAUTHBEARER'
}

function payload (route) {
  return `ckjs-${route}-${process.pid}-${Date.now()}`
}

async function within (ms, what, promise) {
  let timer
  const timeout = new Promise((_resolve, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: not within ${ms} ms`)), ms)
  })
  try {
    return await Promise.race([promise, timeout])
  } finally {
    clearTimeout(timer)
  }
}

/** Produces `value` and consumes it back through ckjs's KafkaJS API. */
async function kafkajsRoundTrip (kafka, value) {
  const producer = kafka.producer()
  await producer.connect()
  try {
    const [report] = await producer.send({ topic: TOPIC, messages: [{ value }] })
    assert.equal(report.errorCode, 0, JSON.stringify(report))
  } finally {
    await producer.disconnect()
  }
  const consumer = kafka.consumer({ kafkaJS: { groupId: GROUP, fromBeginning: true } })
  await consumer.connect()
  try {
    await consumer.subscribe({ topic: TOPIC })
    let seen
    const got = new Promise((resolve) => { seen = resolve })
    await consumer.run({
      eachMessage: async ({ message }) => {
        if (message.value && message.value.toString() === value) seen()
      }
    })
    await within(CONSUME_BOUND_MS, `consuming ${value} in ${GROUP}`, got)
  } finally {
    await consumer.disconnect()
  }
}

test('KafkaJS API: oauthBearerProvider: () => provider.token() produces and consumes', async () => {
  const provider = new TokenProvider(configString('kafkajs'))
  let calls = 0
  const kafka = new ckjs.KafkaJS.Kafka({
    kafkaJS: {
      brokers: [ENV.KIO_BOOTSTRAP_SSL],
      ssl: true,
      sasl: { mechanism: 'oauthbearer', oauthBearerProvider: () => { calls += 1; return provider.token() } },
      logLevel: ckjs.KafkaJS.logLevel.ERROR
    },
    'ssl.ca.location': ENV.KIO_CA_PEM
  })
  await kafkajsRoundTrip(kafka, payload('kafkajs'))
  // librdkafka asks each client (producer, consumer) for a token; the
  // process's cache answered them all with one mint.
  assert.ok(calls >= 2, `oauthBearerProvider called ${calls} times`)
  assert.equal(provider.stats().mints, 1)
})

test('callback API: oauthbearer_token_refresh_cb: provider.oauthbearerTokenRefreshCb produces and consumes', async () => {
  const provider = new TokenProvider(configString('callback'))
  const value = payload('callback')
  const producer = new ckjs.Producer({
    ...RDKAFKA_SSL,
    oauthbearer_token_refresh_cb: provider.oauthbearerTokenRefreshCb,
    dr_cb: true
  })
  const errors = []
  producer.on('event.error', (e) => errors.push(e))
  producer.connect()
  await within(30000, 'producer ready', once(producer, 'ready'))
  producer.setPollInterval(50)
  const delivered = once(producer, 'delivery-report')
  producer.produce(TOPIC, null, Buffer.from(value))
  const [err, report] = await within(30000, 'delivery report', delivered)
  assert.ifError(err)
  assert.equal(report.topic, TOPIC)
  await new Promise((resolve) => producer.disconnect(resolve))

  const consumer = new ckjs.KafkaConsumer({
    ...RDKAFKA_SSL,
    'group.id': GROUP,
    oauthbearer_token_refresh_cb: provider.oauthbearerTokenRefreshCb
  }, { 'auto.offset.reset': 'earliest' })
  consumer.on('event.error', (e) => errors.push(e))
  consumer.connect()
  await within(30000, 'consumer ready', once(consumer, 'ready'))
  try {
    const got = new Promise((resolve) => {
      consumer.on('data', (m) => { if (m.value && m.value.toString() === value) resolve() })
    })
    consumer.subscribe([TOPIC])
    consumer.consume()
    await within(CONSUME_BOUND_MS, `consuming ${value} in ${GROUP}`, got)
  } finally {
    await new Promise((resolve) => consumer.disconnect(resolve))
  }
  assert.equal(provider.stats().mints, 1)
  assert.deepEqual(errors.filter((e) => /oauthbearer|SASL|authentication/i.test(String(e))), [])
})

test('plugin.library.paths: libkafka_iam_oauth.so with no JS of ours produces and consumes', async () => {
  // Only librdkafka settings: the plugin finds the librdkafka this addon
  // loaded privately (its own librdkafka.so.1 under CKJS_LINKING=dynamic).
  const kafka = new ckjs.KafkaJS.Kafka({
    kafkaJS: { brokers: [ENV.KIO_BOOTSTRAP_SSL], logLevel: ckjs.KafkaJS.logLevel.ERROR },
    ...RDKAFKA_SSL,
    'plugin.library.paths': ENV.KIO_PLUGIN_SO,
    'sasl.oauthbearer.config': configString('plugin')
  })
  await kafkajsRoundTrip(kafka, payload('plugin'))
})

test('plugin.library.paths: a bad setting fails with the library\'s message', async () => {
  const kafka = new ckjs.KafkaJS.Kafka({
    kafkaJS: { brokers: [ENV.KIO_BOOTSTRAP_SSL], logLevel: ckjs.KafkaJS.logLevel.NOTHING },
    ...RDKAFKA_SSL,
    'plugin.library.paths': ENV.KIO_PLUGIN_SO,
    'sasl.oauthbearer.config': `audience=${ENV.KIO_AUDIENCE}`
  })
  await assert.rejects(async () => {
    const producer = kafka.producer()
    await producer.connect()
    await producer.disconnect()
  }, /'region' is required/)
})

test('the addon uses its own librdkafka, loaded with local scope', () => {
  // What the plugin has to find: with CKJS_LINKING=dynamic the addon links
  // the librdkafka.so.1 it built (not Debian's), a dependency of an addon
  // Node loads with RTLD_LOCAL; it is the one librdkafka in this process.
  const mapped = new Set(fs.readFileSync('/proc/self/maps', 'utf8').split('\n')
    .map((line) => line.split(/\s+/)[5]).filter((p) => p && /\/librdkafka[^/+]*\.so/.test(p)))
  assert.deepEqual([...mapped].map((p) => path.relative(CKJS_PACKAGE, p)), ['build/deps/librdkafka.so.1'])
  assert.equal(ckjs.librdkafkaVersion, require('@confluentinc/kafka-javascript/package.json').librdkafka)
})

/**
 * Runs the config-only client of static_rdkafka_addon.node (librdkafka
 * linked statically, as in confluent-kafka-javascript's prebuilt binary) in
 * a child Node process with the plugin attached by configuration.
 */
function staticAddonClient (...first) {
  const settings = [
    `bootstrap.servers=${ENV.KIO_BOOTSTRAP_SSL}`, 'security.protocol=SASL_SSL', `ssl.ca.location=${ENV.KIO_CA_PEM}`,
    'sasl.mechanism=OAUTHBEARER', `group.id=${GROUP}`, `topic=${TOPIC}`,
    `plugin.library.paths=${ENV.KIO_PLUGIN_SO}`, `sasl.oauthbearer.config=${configString('static-addon')}`
  ]
  const child = spawnSync(process.execPath, [path.join(__dirname, 'static_addon_child.js'), ENV.KIO_STATIC_ADDON,
    ...first, ...settings], { encoding: 'utf8', timeout: 120000 })
  return { status: child.status, output: `${child.stdout}${child.stderr}` }
}

test('a Node addon linking librdkafka statically: plugin.library.paths finds its copy, produces and consumes', () => {
  const { status, output } = staticAddonClient()
  assert.equal(status, 0, output)
  assert.match(output, /produced and consumed its message/)
})

test('... and beside confluent-kafka-javascript\'s own librdkafka: refused, naming both copies', () => {
  const { status, output } = staticAddonClient('--with-ckjs')
  assert.notEqual(status, 0, output)
  assert.match(output, /2 copies of librdkafka are loaded in this process/)
  assert.ok(output.includes(ENV.KIO_STATIC_ADDON), output)
  assert.match(output, /kafka-javascript\/build\/(Release\/\.\.\/)?deps\/librdkafka\.so\.1/)
})
