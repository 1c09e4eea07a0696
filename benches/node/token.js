'use strict'
// make bench-node: a warm provider.token() next to the provider a Node user
// writes without this library (@aws-sdk/client-sts's
// GetWebIdentityTokenCommand on every call, one STSClient reused), side by
// side in one run against a local emulator; STS calls for 50 clients; the
// tarballs' sizes, their install time and require() time.
//
// Run from build/node/bench (mk/node.mk installs the SDK and the tarballs
// of make node-pack there). Needs KIO_EMULATOR_BIN; starts its own emulator.

const { spawn, execFileSync } = require('node:child_process')
const fs = require('node:fs')
const path = require('node:path')
const readline = require('node:readline')

const WARM_CALLS = Number(process.env.BENCH_WARM_CALLS || 200_000)
const STS_CALLS = Number(process.env.BENCH_STS_CALLS || 300)
const CLIENTS = 50
const AUDIENCE = 'my-kafka.example.com'

async function startEmulator () {
  const bin = process.env.KIO_EMULATOR_BIN
  const ids = Object.fromEntries(execFileSync(bin, ['--print-identities'], { encoding: 'utf8' })
    .trim().split('\n').map((l) => l.split('=')).map(([k, ...v]) => [k, v.join('=')]))
  const child = spawn(bin, ['--port', '0', '--quiet'], { stdio: ['ignore', 'pipe', 'inherit'] })
  const url = await new Promise((resolve, reject) => {
    const rl = readline.createInterface({ input: child.stdout })
    rl.on('line', (line) => {
      const m = /ready url=(\S+)/.exec(line)
      if (m) resolve(m[1])
    })
    child.on('exit', (code) => reject(new Error(`emulator exited ${code}`)))
  })
  return { child, url, ids }
}

async function stsCalls (url) {
  const s = await (await fetch(`${url}/_emulator/stats`)).json()
  return s.requests.GetWebIdentityToken || 0
}

async function timeAsync (n, fn) {
  for (let i = 0; i < Math.min(1000, n); i++) await fn()
  const t0 = process.hrtime.bigint()
  for (let i = 0; i < n; i++) await fn()
  return Number(process.hrtime.bigint() - t0) / 1e3 / n
}

function median (xs) {
  const s = [...xs].sort((a, b) => a - b)
  return s[Math.floor(s.length / 2)]
}

async function main () {
  const { child, url, ids } = await startEmulator()
  Object.assign(process.env, {
    AWS_EC2_METADATA_DISABLED: 'true',
    AWS_ACCESS_KEY_ID: ids.KIO_USER_ACCESS_KEY_ID,
    AWS_SECRET_ACCESS_KEY: ids.KIO_USER_SECRET_ACCESS_KEY,
    AWS_CONFIG_FILE: '/dev/null',
    AWS_SHARED_CREDENTIALS_FILE: '/dev/null'
  })
  try {
    const t0 = process.hrtime.bigint()
    const kio = require('kafka-iam-oauth')
    const requireInProcessMs = Number(process.hrtime.bigint() - t0) / 1e6
    const { STSClient, GetWebIdentityTokenCommand } = require('@aws-sdk/client-sts')
    const config = { region: 'eu-west-1', audience: AUDIENCE, sts_endpoint: url }

    // Ours: one mint, then the cache.
    const provider = new kio.TokenProvider(config)
    await provider.token()
    const oursUs = await timeAsync(WARM_CALLS, () => provider.token())
    const oursSyncUs = await timeAsync(WARM_CALLS, () => provider.cachedToken())

    // Without the library: GetWebIdentityToken on every call (what KafkaJS
    // then does on every authentication of every connection).
    const sts = new STSClient({
      region: 'eu-west-1',
      endpoint: url,
      credentials: { accessKeyId: ids.KIO_USER_ACCESS_KEY_ID, secretAccessKey: ids.KIO_USER_SECRET_ACCESS_KEY }
    })
    const perCall = async () => {
      const r = await sts.send(new GetWebIdentityTokenCommand({ Audience: [AUDIENCE], SigningAlgorithm: 'ES384', DurationSeconds: 300 }))
      return { value: r.WebIdentityToken }
    }
    const sdkUs = await timeAsync(STS_CALLS, perCall)

    // 50 clients asking for their first token at once.
    let before = await stsCalls(url)
    const fresh = { ...config, tag_bench: `fifty-${Date.now()}` }
    await Promise.all(Array.from({ length: CLIENTS }, () => new kio.TokenProvider(fresh).token()))
    const oursFifty = (await stsCalls(url)) - before
    before = await stsCalls(url)
    await Promise.all(Array.from({ length: CLIENTS }, () => perCall()))
    const sdkFifty = (await stsCalls(url)) - before

    // require() in a fresh process, median of 9.
    const requireMs = median(Array.from({ length: 9 }, () => Number(execFileSync(process.execPath, ['-e',
      "const t=process.hrtime.bigint();require('kafka-iam-oauth');console.log(Number(process.hrtime.bigint()-t)/1e6)"],
    { encoding: 'utf8' }).trim())))
    const bareMs = median(Array.from({ length: 9 }, () => Number(execFileSync(process.execPath, ['-e',
      "const t=process.hrtime.bigint();require('node:util');console.log(Number(process.hrtime.bigint()-t)/1e6)"],
    { encoding: 'utf8' }).trim())))

    const rows = [
      ['warm provider.token() (await)', `${oursUs.toFixed(2)} us/call`],
      ['warm provider.cachedToken() (sync)', `${oursSyncUs.toFixed(2)} us/call`],
      ['@aws-sdk/client-sts GetWebIdentityTokenCommand per call (loopback emulator)', `${sdkUs.toFixed(0)} us/call`],
      ['ratio per-call SDK / warm token()', `${(sdkUs / oursUs).toFixed(0)}x`],
      [`STS calls for ${CLIENTS} clients' first tokens: ours / per-call SDK`, `${oursFifty} / ${sdkFifty}`],
      ["require('kafka-iam-oauth') in a fresh process (median of 9)", `${requireMs.toFixed(1)} ms`],
      ['(first require in this process)', `${requireInProcessMs.toFixed(1)} ms`]
    ]
    for (const f of (process.env.BENCH_TARBALLS || '').split(' ').filter(Boolean)) {
      rows.push([`tarball ${path.basename(f)}`, `${(fs.statSync(f).size / 1e3).toFixed(0)} kB`])
    }
    if (process.env.BENCH_INSTALL_MS) rows.push(['npm install of the two tarballs', `${process.env.BENCH_INSTALL_MS} ms`])
    const addon = require.resolve(`kafka-iam-oauth-${kio.platformTarget()}`)
    rows.push([`unpacked ${path.basename(addon)}`, `${(fs.statSync(addon).size / 1e6).toFixed(1)} MB`])
    const w = Math.max(...rows.map((r) => r[0].length))
    console.log(`bench-node (Node ${process.version}, ${WARM_CALLS} warm calls, ${STS_CALLS} SDK calls)`)
    for (const [k, v] of rows) console.log(`  ${k.padEnd(w)}  ${v}`)
  } finally {
    child.kill('SIGTERM')
  }
}

main().catch((e) => {
  console.error(e)
  process.exit(1)
})
