import assert from 'node:assert/strict'
import { test } from 'node:test'
import fc from 'fast-check'
import { Fifo } from '../../src/client/fifo.ts'

test('Fifo behaves as an array used as a queue, whatever mix of operations', () => {
  const operation = fc.oneof(
    fc.record({ op: fc.constant('push' as const), count: fc.integer({ min: 1, max: 200 }) }),
    fc.record({ op: fc.constant('shift' as const), count: fc.integer({ min: 1, max: 200 }) }),
    fc.record({ op: fc.constant('remove' as const), at: fc.nat() }),
    fc.record({ op: fc.constant('takeAll' as const) }),
  )
  fc.assert(
    fc.property(fc.array(operation, { maxLength: 60 }), (operations) => {
      const fifo = new Fifo<number>()
      let model: number[] = []
      let next = 0
      for (const step of operations) {
        if (step.op === 'push') {
          for (let i = 0; i < step.count; i++) {
            fifo.push(next)
            model.push(next++)
          }
        } else if (step.op === 'shift') {
          for (let i = 0; i < step.count; i++) assert.equal(fifo.shift(), model.shift())
        } else if (step.op === 'remove') {
          const item = model.length > 0 ? model[step.at % model.length]! : -1
          assert.equal(fifo.remove(item), model.includes(item))
          model = model.filter((x) => x !== item)
        } else {
          assert.deepEqual(fifo.takeAll(), model)
          model = []
        }
        assert.equal(fifo.length, model.length)
        assert.equal(fifo.peek(), model[0])
        assert.equal(fifo.find((x) => x % 3 === 0), model.find((x) => x % 3 === 0))
      }
    }),
  )
})
