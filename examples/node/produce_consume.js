'use strict'
// The Aiven guide's producer/consumer in KafkaJS, with kafka-iam-oauth as
// the OAUTHBEARER token provider.
//
// Environment (written by harness/kafka-up.sh into env.sh): KIO_BOOTSTRAP_SSL,
// KIO_CA_PEM, KIO_AUDIENCE, KIO_EMULATOR_URL, KIO_TOPIC, KIO_GROUP. Against
// real AWS leave KIO_EMULATOR_URL unset and use your own region and audience.

const fs = require('node:fs')
const { randomUUID } = require('node:crypto')
const { Kafka, Partitioners, logLevel } = require('kafkajs')
const { TokenProvider, check, KafkaIamOAuthError } = require('kafka-iam-oauth')

const env = process.env
const config = {
  region: env.AWS_REGION || 'eu-west-1',
  audience: env.KIO_AUDIENCE,
  duration_seconds: 3600,
  ...(env.KIO_EMULATOR_URL ? { sts_endpoint: env.KIO_EMULATOR_URL } : {})
}
const topic = env.KIO_TOPIC || 'my-topic'
const group = env.KIO_GROUP || 'my-consumer-group'

async function main () {
  // At start-up, before any client is built: the checks of `kafka-iam-oauth
  // doctor` (config, credentials, STS, federation, permission, a token), so
  // a problem shows as its real reason (e.g. AccessDenied and the
  // permission to grant), not as a SASL failure deep inside KafkaJS.
  try {
    await check(config)
  } catch (e) {
    if (e instanceof KafkaIamOAuthError) {
      console.error(`Cannot get a Kafka token: ${e.message}`)
      process.exit(1)
    }
    throw e
  }

  const provider = new TokenProvider(config)
  const token = await provider.token()
  console.log(`Authenticated to AWS as ${token.principal}`)
  console.log(`The Kafka token is valid for another ${Math.round((token.lifetime - Date.now()) / 60000)} minutes`)

  const kafka = new Kafka({
    clientId: 'kafka-iam-oauth-example',
    brokers: [env.KIO_BOOTSTRAP_SSL],
    ssl: { ca: [fs.readFileSync(env.KIO_CA_PEM, 'utf8')] },
    // OAUTHBEARER with the provider's tokens; a refused token fails
    // connect() with the broker's answer and the audience sent.
    sasl: provider.kafkajsSasl,
    logLevel: logLevel.WARN
  })

  const run = randomUUID().slice(0, 8)
  const messages = Array.from({ length: 5 }, (_, i) => `message ${i} of run ${run}`)
  const producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner })
  await producer.connect()
  await producer.send({ topic, messages: messages.map((value) => ({ value })) })
  await producer.disconnect()
  console.log(`Produced ${messages.length} messages to topic ${topic}`)

  const consumer = kafka.consumer({ groupId: group })
  const seen = new Set()
  await consumer.connect()
  await consumer.subscribe({ topic, fromBeginning: true })
  await consumer.run({
    eachMessage: async ({ message }) => {
      const value = message.value.toString()
      if (messages.includes(value)) seen.add(value)
    }
  })
  const deadline = Date.now() + 60_000
  while (seen.size < messages.length && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 250))
  await consumer.disconnect()
  console.log(`Consumed ${seen.size} of those messages back in consumer group ${group}`)
  console.log(`STS calls for both clients: ${provider.stats().mints}`)
  process.exit(seen.size === messages.length ? 0 : 1)
}

main().catch((e) => {
  console.error(e)
  process.exit(1)
})
