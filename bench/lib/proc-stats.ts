// CPU time and memory of one process, read from Linux's /proc, so a benchmark can measure a
// server child (node or native) from outside without its cooperation.
import { readFileSync } from 'node:fs'

// USER_HZ: the unit of utime/stime in /proc/<pid>/stat; 100 on every Linux architecture we run on.
const CLOCK_TICKS_PER_SECOND = 100

/** User and system (kernel) CPU seconds the process (all its threads) has used so far. */
export function readCpuTimes(pid: number): { userSeconds: number; systemSeconds: number } {
  const stat = readFileSync(`/proc/${pid}/stat`, 'latin1')
  // The command name (field 2) may contain spaces and parentheses: split after its closing one.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
  // Fields 14 and 15 of proc(5): utime and stime; index 0 here is field 3.
  return { userSeconds: Number(fields[11]) / CLOCK_TICKS_PER_SECOND, systemSeconds: Number(fields[12]) / CLOCK_TICKS_PER_SECOND }
}

/**
 * Minor page faults of the process so far (minflt): each is a page of memory touched for the
 * first time since it was mapped, or again after it was given back to the kernel. A server that
 * reads into fresh memory pays one per 4 KiB in its kernel time.
 */
export function readMinorFaults(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'latin1')
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
  // Field 10 of proc(5).
  return Number(fields[7])
}

/**
 * User plus system CPU seconds of the process's children that have exited and been waited for
 * (cutime and cstime): for a load generator's CPU, read in the parent before and after it runs.
 */
export function readReapedChildrenCpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'latin1')
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
  // Fields 16 and 17 of proc(5).
  return (Number(fields[13]) + Number(fields[14])) / CLOCK_TICKS_PER_SECOND
}

/** User plus system CPU seconds the process (all its threads) has used so far. */
export function readCpuSeconds(pid: number): number {
  const { userSeconds, systemSeconds } = readCpuTimes(pid)
  return userSeconds + systemSeconds
}

/** Current resident set size and its peak (VmRSS, VmHWM), in bytes. */
export function readMemory(pid: number): { rssBytes: number; peakRssBytes: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'latin1')
  const kib = (name: string): number => {
    const match = new RegExp(`^${name}:\\s+(\\d+) kB$`, 'm').exec(status)
    if (!match) throw new Error(`no ${name} in /proc/${pid}/status`)
    return Number(match[1]) * 1024
  }
  return { rssBytes: kib('VmRSS'), peakRssBytes: kib('VmHWM') }
}
