// Whether a process still runs (a zombie waiting to be reaped by init counts as gone).

import { readFileSync } from 'node:fs';

export function alive(pid: number): boolean {
  try {
    return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}
