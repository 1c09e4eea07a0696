// Type-checked by api.test.js (tsc --noEmit), never run: index.d.ts must
// type what docs/node.md shows, and refuse what the API refuses.
import { Kafka } from 'kafkajs'
import {
  TokenProvider, Token, check, parseConfig, configKeys, version,
  KafkaIamOAuthError, BrokerAuthenticationError, StsError, ConfigError, CredentialsError, TimeoutError, Stats, CheckReport, ErrorCode
} from 'kafka-iam-oauth'

const provider = new TokenProvider({ region: 'eu-west-1', audience: 'my-kafka.example.com', duration_seconds: 900 })
const fromString = new TokenProvider('region=eu-west-1,audience=my-kafka.example.com', { traceId: 'x' })

// KafkaJS takes the provider's function as its oauthBearerProvider.
const kafka = new Kafka({
  brokers: ['broker:9098'],
  ssl: true,
  sasl: { mechanism: 'oauthbearer', oauthBearerProvider: provider.oauthBearerProvider }
})
const withAuthenticator = new Kafka({ brokers: ['broker:9098'], ssl: true, sasl: provider.kafkajsSasl })
const alsoKafka = new Kafka({
  brokers: ['broker:9098'],
  sasl: { mechanism: 'oauthbearer', oauthBearerProvider: () => fromString.token() }
})

async function main (): Promise<void> {
  const t: Token = await provider.token({ timeoutMs: 2000 })
  const jwt: string = t.value
  const expiresMs: number = t.lifetime
  const ext: Record<string, string> = t.extensions
  const when: Date = t.expiresAt
  const cached: Token | null = provider.cachedToken()
  const s: Stats = provider.stats()
  const mints: number = s.mints + provider.mintCount
  const refreshIn: number | null = s.refreshInMs
  const jwtForPlatformatic: string = await provider.platformaticToken()
  provider.oauthbearerTokenRefreshCb('cfg', (err, tok) => {
    if (err === null && tok !== undefined) console.log(tok.principal, tok.lifetime, tok.tokenValue.length)
  })
  const report: CheckReport = await check('region=eu-west-1,audience=a', { expectedAudience: 'a', timeoutMs: 8000 })
  console.log(report.steps.map((x) => x.verdict), report.principal)
  const effective: Record<string, string> = parseConfig({ region: 'eu-west-1', audience: 'a' })
  console.log(jwt.length, expiresMs, ext, when, cached, mints, refreshIn, jwtForPlatformatic, effective,
    configKeys().map((k) => k.name), version, kafka, alsoKafka, withAuthenticator)
  try {
    await provider.token()
  } catch (e) {
    if (e instanceof StsError && e.awsCode === 'AccessDenied') console.log(e.code, e.retryable)
    if (e instanceof ConfigError || e instanceof CredentialsError || e instanceof TimeoutError) console.log(e.message)
    if (e instanceof BrokerAuthenticationError) console.log(e.retriable)
    if (e instanceof KafkaIamOAuthError) {
      const code: ErrorCode = e.code
      if (code === 'ERR_KAFKA_IAM_OAUTH_BROKER_REFUSED') console.log(e.kind === 'broker')
      console.log(code)
    }
  }
  // @ts-expect-error a number is no configuration
  new TokenProvider(42)
  // @ts-expect-error extensions are strings
  new TokenProvider('region=eu-west-1,audience=a', { n: 1 })
  // @ts-expect-error the token is read-only
  t.value = 'x'
  // @ts-expect-error timeoutMs is a number
  await provider.token({ timeoutMs: '1s' })
}
main().catch(() => {})
