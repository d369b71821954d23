/**
 * A first-in, first-out queue that takes from the front in constant time: taken slots are left
 * as holes behind a head index and the array is cut once they are half of it, where
 * `Array.prototype.shift` would move every item on each take (thousands of queued sends or
 * replies). The client's reply queue, connection lock and pool each keep their waiters in one.
 */
export class Fifo<T> {
  #items: (T | undefined)[] = []
  #head = 0

  /** How many items are queued. */
  get length(): number {
    return this.#items.length - this.#head
  }

  push(item: T): void {
    this.#items.push(item)
  }

  /** The oldest item, left in the queue; undefined when it is empty. */
  peek(): T | undefined {
    return this.#head < this.#items.length ? this.#items[this.#head] : undefined
  }

  /** Takes the oldest item; undefined when the queue is empty. */
  shift(): T | undefined {
    if (this.#head >= this.#items.length) return undefined
    const item = this.#items[this.#head]
    this.#items[this.#head++] = undefined
    if (this.#head === this.#items.length) {
      this.#items = []
      this.#head = 0
    } else if (this.#head >= 64 && this.#head * 2 >= this.#items.length) {
      this.#items = this.#items.slice(this.#head)
      this.#head = 0
    }
    return item
  }

  /** Takes `item` out wherever it is (an aborted wait); false when it is not queued. */
  remove(item: T): boolean {
    const index = this.#items.indexOf(item, this.#head)
    if (index === -1) return false
    this.#items.splice(index, 1)
    return true
  }

  /** Takes every item, oldest first. */
  takeAll(): T[] {
    const items = this.#items.slice(this.#head) as T[]
    this.#items = []
    this.#head = 0
    return items
  }

  /** The oldest queued item that `predicate` accepts. */
  find(predicate: (item: T) => boolean): T | undefined {
    for (let i = this.#head; i < this.#items.length; i++) {
      const item = this.#items[i] as T
      if (predicate(item)) return item
    }
    return undefined
  }
}
