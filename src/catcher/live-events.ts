import type { CatcherEvent } from './catcher.ts'

/** New messages arriving within this time are announced in one `new` event. */
export const LIVE_BATCH_MS = 50

/** What the live stream reads of a catcher. */
export interface LiveSource {
  readonly total: number
  readonly unread: number
  subscribe(listener: (event: CatcherEvent) => void): () => void
}

/**
 * The text of the live event stream (Server-Sent Events) for one subscriber: `retry` and `stats`
 * at once, then each change followed by the counts after it, in one `write`. New messages are
 * announced by id, gathered for {@link LIVE_BATCH_MS} into one event: a burst of mail costs the
 * stream a write per batch, and the page one list refresh, not one of each per message. Ids still
 * waiting go out before any later event, so the order of changes is kept.
 */
export function startLiveEvents(source: LiveSource, write: (text: string) => void): { stop(): void } {
  const format = (event: string, data: unknown): string => `event: ${event}\ndata: ${JSON.stringify(data)}\n\n`
  const stats = (): string => format('stats', { Total: source.total, Unread: source.unread })
  let arrived: string[] = []
  let batch: NodeJS.Timeout | undefined
  const takeArrived = (): string => {
    clearTimeout(batch)
    batch = undefined
    const text = arrived.length === 0 ? '' : format('new', { IDs: arrived })
    arrived = []
    return text
  }
  write(`retry: 2000\n\n${stats()}`)
  const unsubscribe = source.subscribe((event) => {
    if (event.type === 'new') {
      arrived.push(event.id)
      batch ??= setTimeout(() => write(takeArrived() + stats()), LIVE_BATCH_MS)
      return
    }
    const text = event.type === 'delete' ? format('delete', { IDs: event.ids }) : format('read', { IDs: event.ids, Read: event.isSeen })
    write(takeArrived() + text + stats())
  })
  return {
    stop() {
      clearTimeout(batch)
      unsubscribe()
    },
  }
}
