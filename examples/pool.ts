// Sends a batch of messages over a few reused connections with Pool, at most 20 a second.
//
//   node --import tsx examples/pool.ts [smtp://host:port]
//
// COUNT sets how many messages (default 10).
import { parseSmtpUrl, Pool } from 'smtpkit/client'

const server = process.argv[2] ?? process.env.SMTP_URL ?? 'smtp://127.0.0.1:2525'
const count = Number(process.env.COUNT ?? 10)

const pool = new Pool(parseSmtpUrl(server), { maxConnections: 3, rateLimit: { messages: 20, perMs: 1000 } })
try {
  const sends = Array.from({ length: count }, (_, i) =>
    pool.send({
      from: 'newsletter@example.test',
      to: `reader${i}@example.test`,
      message: `From: newsletter@example.test\r\nTo: reader${i}@example.test\r\nSubject: Issue ${i}\r\n\r\nHello reader ${i}.\r\n`,
      signal: AbortSignal.timeout(60_000),
    }),
  )
  const outcomes = await Promise.allSettled(sends)
  const failed = outcomes.filter((o) => o.status === 'rejected')
  console.log(`sent ${outcomes.length - failed.length} of ${outcomes.length} over at most ${pool.size} connections`)
  for (const o of failed) console.error(`failed: ${String(o.reason)}`)
  if (failed.length > 0) process.exitCode = 1
} finally {
  await pool.close({ signal: AbortSignal.timeout(10_000) })
}
