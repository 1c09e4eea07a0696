'use strict'
// The Kafka clients against the harness's broker (SASL_SSL, tokens checked
// against the emulator's JWKS): @platformatic/kafka producing and
// consuming, 50 KafkaJS clients sharing one STS call, and the failures an
// application must see named: AccessDenied at STS, no credentials, a
// token for another audience at the broker.

const test = require('node:test')
const assert = require('node:assert/strict')
const fs = require('node:fs')
const { execFile } = require('node:child_process')
const { promisify } = require('node:util')
const { Kafka, logLevel } = require('kafkajs')
const kio = require('kafka-iam-oauth')
const { ENV, AUDIENCE, NODE_TOPIC, NODE_GROUP_PREFIX, ensureNodeTopic, noCredentialsEnv, freshConfig, emulator, stsCalls, kafkajsBase, collectingLogger } = require('./helpers')

const TOPIC = ENV.KIO_TOPIC
/** How long an application may wait for a failure's error (the library's
 * first-token wait is 8 s; KafkaJS adds its connection handling). */
const FAILURE_BOUND_MS = 20_000
const CLIENTS = 50

function kafkajs (oauthBearerProvider, entries = [], extra = {}) {
  return new Kafka(kafkajsBase(oauthBearerProvider, {
    clientId: 'kio-node-test',
    logLevel: logLevel.INFO,
    logCreator: collectingLogger(entries),
    retry: { retries: 2, initialRetryTime: 200 },
    ...extra
  }))
}

async function within (ms, promise, what) {
  let timer
  const bound = new Promise((resolve, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: no answer within ${ms} ms`)), ms)
  })
  try {
    return await Promise.race([promise, bound])
  } finally {
    clearTimeout(timer)
  }
}

test.before(ensureNodeTopic)

test('@platformatic/kafka produces and consumes with sasl.token = provider.platformaticToken', async () => {
  const { Producer, Consumer, stringSerializers, stringDeserializers } = await import('@platformatic/kafka')
  const provider = new kio.TokenProvider(freshConfig('platformatic'))
  let calls = 0
  const token = () => { calls += 1; return provider.platformaticToken() }
  const common = {
    bootstrapBrokers: [ENV.KIO_BOOTSTRAP_SSL],
    tls: { ca: fs.readFileSync(ENV.KIO_CA_PEM, 'utf8') },
    tlsServerName: 'localhost',
    sasl: { mechanism: 'OAUTHBEARER', token }
  }
  const value = `platformatic-${process.pid}-${Date.now()}`
  const producer = new Producer({ ...common, clientId: 'kio-node-platformatic', serializers: stringSerializers })
  try {
    await producer.send({ messages: [{ topic: NODE_TOPIC, key: 'node', value }] })
  } finally {
    await producer.close()
  }
  const consumer = new Consumer({
    ...common,
    clientId: 'kio-node-platformatic-consumer',
    groupId: `${NODE_GROUP_PREFIX}platformatic`,
    deserializers: stringDeserializers
  })
  try {
    const stream = await consumer.consume({ topics: [NODE_TOPIC], mode: 'earliest', autocommit: false, sessionTimeout: 10_000, heartbeatInterval: 500 })
    const found = await within(60_000, (async () => {
      for await (const m of stream) if (m.value === value) return m
    })(), 'consuming the message')
    assert.equal(found.value, value)
    await stream.close()
  } finally {
    await consumer.close(true)
  }
  assert.ok(calls >= 2, `the token function was called on each authentication (${calls})`)
  assert.equal(provider.stats().mints, 1)
})

test(`${CLIENTS} KafkaJS clients in one process: one STS call, every authentication through the provider`, async () => {
  const config = freshConfig('fifty')
  const before = await stsCalls()
  let calls = 0
  const producers = []
  for (let i = 0; i < CLIENTS; i++) {
    // A provider per client, as separate modules of an application would
    // make: the same configuration shares the process-wide cache.
    // Half through KafkaJS's own authenticator, half through kafkajsSasl's.
    const provider = new kio.TokenProvider(config)
    producers.push(i % 2 === 0
      ? kafkajs(() => { calls += 1; return provider.token() }).producer()
      : kafkajs(null, [], { sasl: provider.kafkajsSasl }).producer())
  }
  try {
    await Promise.all(producers.map((p) => p.connect()))
    await Promise.all(producers.map((p, i) => p.send({ topic: TOPIC, messages: [{ value: `fifty-${i}` }] })))
  } finally {
    await Promise.all(producers.map((p) => p.disconnect()))
  }
  assert.equal(await stsCalls() - before, 1, 'STS calls for all the clients')
  assert.equal(new kio.TokenProvider(config).stats().mints, 1)
  assert.ok(calls >= CLIENTS / 2, `the provider was called on each authentication (${calls})`)
})

test('AccessDenied at STS: KafkaJS connect() fails with the StsError naming sts:GetWebIdentityToken', async (t) => {
  await emulator('/_emulator/policy', { allowed_audiences: ['someone-else.example.com'] })
  t.after(() => emulator('/_emulator/policy', { allowed_audiences: null }))
  const provider = new kio.TokenProvider(freshConfig('kafkajs-denied'))
  const producer = kafkajs(provider.oauthBearerProvider).producer()
  const started = Date.now()
  await assert.rejects(within(FAILURE_BOUND_MS, producer.connect(), 'connect'), (e) => {
    assert.ok(e instanceof kio.StsError, `${e.name}: ${e.message}`)
    assert.equal(e.awsCode, 'AccessDenied')
    assert.match(e.message, /sts:GetWebIdentityToken/)
    assert.ok(e.message.includes(AUDIENCE))
    // KafkaJS's retrier gives up at once on a permanent error.
    assert.equal(e.retriable, false)
    return true
  })
  assert.ok(Date.now() - started < FAILURE_BOUND_MS)
  await producer.disconnect()
})

test('no AWS credentials: KafkaJS connect() fails with the CredentialsError', async () => {
  const env = noCredentialsEnv({ KIO_CONFIG: JSON.stringify(freshConfig('kafkajs-nocreds')) })
  const script = `
    const { Kafka, logLevel } = require('kafkajs')
    const kio = require('kafka-iam-oauth')
    const { kafkajsBase } = require('./helpers')
    const provider = new kio.TokenProvider(JSON.parse(process.env.KIO_CONFIG))
    const producer = new Kafka({ ...kafkajsBase(provider.oauthBearerProvider), logLevel: logLevel.NOTHING }).producer()
    producer.connect().then(
      () => console.log(JSON.stringify({ connected: true })),
      (e) => console.log(JSON.stringify({ name: e.name, code: e.code, message: e.message })))
      .finally(() => producer.disconnect())`
  const { stdout } = await promisify(execFile)(process.execPath, ['-e', script],
    { env, cwd: __dirname, encoding: 'utf8', timeout: FAILURE_BOUND_MS + 10_000 })
  const r = JSON.parse(stdout.trim().split('\n').pop())
  assert.equal(r.name, 'CredentialsError', stdout)
  assert.equal(r.code, 'ERR_KAFKA_IAM_OAUTH_CREDENTIALS')
  assert.match(r.message, /credentials/i)
})

test('a token for another audience: kafkajsSasl fails connect() naming the audience; KafkaJS\'s own authenticator fails the first request', async () => {
  const provider = new kio.TokenProvider(freshConfig('wrong-audience', { audience: 'wrong-audience.example.com' }))
  const entries = []
  const producer = kafkajs(null, entries, { sasl: provider.kafkajsSasl }).producer()
  const started = Date.now()
  await assert.rejects(within(FAILURE_BOUND_MS, producer.connect(), 'connect'), (e) => {
    assert.ok(e instanceof kio.BrokerAuthenticationError, `${e.name}: ${e.message}`)
    assert.equal(e.code, 'ERR_KAFKA_IAM_OAUTH_BROKER_REFUSED')
    assert.match(e.message, /invalid_token/, 'the broker\'s answer')
    assert.match(e.message, /"wrong-audience\.example\.com"/, 'the audience sent')
    assert.match(e.message, /expected\.audience/, 'what to compare it with')
    assert.ok(!e.message.includes((provider.cachedToken() || { value: 'x.y.z' }).value))
    return true
  })
  assert.ok(Date.now() - started < FAILURE_BOUND_MS)
  await producer.disconnect()
  assert.equal(provider.stats().mints, 1, 'STS was fine; the broker said no')
  assert.ok(entries.some((l) => l.level === logLevel.ERROR && /refused the OAUTHBEARER token/.test(l.message)), 'logged too')

  // KafkaJS's built-in authenticator takes the broker's error challenge
  // for success (docs/node.md): the first request after it fails instead.
  const builtIn = kafkajs(provider.oauthBearerProvider).producer()
  await builtIn.connect()
  await assert.rejects(within(FAILURE_BOUND_MS, builtIn.send({ topic: TOPIC, messages: [{ value: 'must-not-arrive' }] }), 'send'),
    /not valid given the current SASL state/)
  await builtIn.disconnect()
})
