'use strict'
// KafkaJS 2.2.4 through three token lifetimes with the broker's
// re-authentication (connections.max.reauth.ms = $KIO_REAUTH_MS): a
// producer (KafkaJS's own OAUTHBEARER authenticator, oauthBearerProvider)
// and a consumer in a group (provider.kafkajsSasl) share one provider
// configuration with 60 s tokens. Every message produced is consumed, the
// provider is called on every authentication, the cache mints once per
// refresh for both clients, every token handed out is far from KafkaJS's
// re-authentication loop, and no request meets ILLEGAL_SASL_STATE.
//
// Mostly waiting (about 3.5 minutes): make test runs it beside the other
// suites (make test-node-reauth, KIO_ISOLATED=1: the emulator's isolated
// twin, shared with other concurrent suites, so STS calls are counted by
// the provider's stats, never the emulator's counters).

const test = require('node:test')
const assert = require('node:assert/strict')
const { Kafka, logLevel } = require('kafkajs')
const kio = require('kafka-iam-oauth')
const { ENV, NODE_TOPIC, NODE_GROUP_PREFIX, ensureNodeTopic, freshConfig, kafkajsBase } = require('./helpers')

const LIFETIME_S = 60
const LIFETIMES = 3
/** Producing lasts three token lifetimes and a bit. */
const RUN_MS = (LIFETIMES * LIFETIME_S + 15) * 1000
const SEND_EVERY_MS = 500
/** After the last send, how long the consumer has to catch up. */
const DRAIN_MS = 30_000
/** KafkaJS re-authenticates when a token has this little left (its
 * reauthenticationThreshold default): no token handed out may be near it. */
const KAFKAJS_THRESHOLD_MS = 10_000
const REAUTH_MS = Number(ENV.KIO_REAUTH_MS)

const AUTH_OK = 'SASL OAUTHBEARER authentication successful'
const SASL_STATE = /ILLEGAL_SASL_STATE|current SASL state/i

/** A KafkaJS logCreator keeping what the test reads: successful
 * authentications, and every warning or error. */
function logger (name, into) {
  return () => ({ level, log }) => {
    if (log.message === AUTH_OK || level <= logLevel.WARN) into.push({ client: name, level, ...log })
  }
}

test(`KafkaJS producer and group consumer through ${LIFETIMES} token lifetimes with re-authentication every ${REAUTH_MS} ms`, { timeout: RUN_MS + DRAIN_MS + 120_000 }, async () => {
  assert.ok(REAUTH_MS > 0 && REAUTH_MS < LIFETIME_S * 1000, `the broker must force re-authentication (KIO_REAUTH_MS=${ENV.KIO_REAUTH_MS})`)
  await ensureNodeTopic()
  const config = freshConfig('reauth', { duration_seconds: LIFETIME_S })
  const provider = new kio.TokenProvider(config)
  const logs = []
  const handedOut = []
  const counted = async () => {
    const t = await provider.token()
    handedOut.push({ at: Date.now(), lifetime: t.lifetime, value: t.value })
    return t
  }
  const producer = new Kafka(kafkajsBase(counted, {
    clientId: 'kio-node-reauth-producer', logLevel: logLevel.DEBUG, logCreator: logger('producer', logs)
  })).producer()
  const consumer = new Kafka(kafkajsBase(null, {
    clientId: 'kio-node-reauth-consumer',
    sasl: new kio.TokenProvider(config).kafkajsSasl,
    logLevel: logLevel.DEBUG,
    logCreator: logger('consumer', logs)
  })).consumer({ groupId: `${NODE_GROUP_PREFIX}reauth-${process.pid}`, sessionTimeout: 30_000 })

  const run = `reauth-${process.pid}-${Date.now()}`
  const sent = new Set()
  const received = new Set()
  const crashes = []
  consumer.on(consumer.events.CRASH, (e) => crashes.push(e.payload.error))
  await consumer.connect()
  await consumer.subscribe({ topic: NODE_TOPIC, fromBeginning: true })
  await consumer.run({
    eachMessage: async ({ message }) => {
      const v = message.value.toString()
      if (v.startsWith(run)) received.add(v)
    }
  })
  await producer.connect()
  const started = Date.now()
  const sendErrors = []
  try {
    for (let i = 0; Date.now() - started < RUN_MS; i++) {
      const value = `${run}-${i}`
      try {
        await producer.send({ topic: NODE_TOPIC, messages: [{ value }] })
        sent.add(value)
      } catch (e) {
        sendErrors.push(e)
      }
      await new Promise((resolve) => setTimeout(resolve, SEND_EVERY_MS))
    }
    const drainUntil = Date.now() + DRAIN_MS
    while (received.size < sent.size && Date.now() < drainUntil) await new Promise((resolve) => setTimeout(resolve, 250))
  } finally {
    await producer.disconnect()
    await consumer.disconnect()
  }
  const elapsedS = (Date.now() - started) / 1000

  assert.deepEqual(sendErrors.map(String), [], 'every send succeeded')
  assert.deepEqual(crashes.map(String), [], 'the consumer never crashed')
  assert.ok(sent.size > RUN_MS / SEND_EVERY_MS / 2, `${sent.size} messages sent`)
  assert.deepEqual([...sent].filter((v) => !received.has(v)), [], 'every message sent was consumed')

  const saslState = logs.filter((l) => SASL_STATE.test(JSON.stringify(l)))
  assert.deepEqual(saslState, [], 'no request met ILLEGAL_SASL_STATE')

  // Re-authentication happened all along, each time through the provider.
  const auths = (client) => logs.filter((l) => l.client === client && l.message === AUTH_OK).length
  const minAuths = Math.floor((RUN_MS / REAUTH_MS) * 0.5)
  assert.ok(auths('producer') >= minAuths, `producer authenticated ${auths('producer')} times (at least ${minAuths})`)
  assert.ok(auths('consumer') >= minAuths, `consumer authenticated ${auths('consumer')} times (at least ${minAuths})`)
  assert.equal(handedOut.length, auths('producer'), 'the provider was called on every authentication of the producer')

  // Three lifetimes crossed; one mint per refresh for both clients.
  const tokens = new Set(handedOut.map((h) => h.value))
  assert.ok(tokens.size >= LIFETIMES, `${tokens.size} different tokens over ${elapsedS.toFixed(0)} s`)
  const stats = provider.stats()
  const maxMints = Math.ceil(elapsedS / (LIFETIME_S * 0.5)) + 1
  assert.ok(stats.mints >= LIFETIMES && stats.mints <= maxMints,
    `${stats.mints} mints in ${elapsedS.toFixed(0)} s for two clients (one per refresh: at most ${maxMints})`)
  assert.equal(stats.failures, 0)

  // Never near KafkaJS's re-authentication loop: every token handed out
  // had at least twice its threshold left.
  const shortest = Math.min(...handedOut.map((h) => h.lifetime - h.at))
  assert.ok(shortest > 2 * KAFKAJS_THRESHOLD_MS, `a token was handed out with ${shortest} ms left`)
  console.log(`reauth: ${sent.size} messages, producer ${auths('producer')} / consumer ${auths('consumer')} authentications, ` +
    `${stats.mints} mints, ${tokens.size} tokens, shortest life handed out ${(shortest / 1000).toFixed(1)} s, ${elapsedS.toFixed(0)} s`)
})
