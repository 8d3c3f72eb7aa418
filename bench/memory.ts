// Memory per idle TLS connection: a fresh target, warmed with a few hundred handshakes; its RSS
// (VmRSS summed over its process tree) before and after a separate client process opened N TLS
// connections to it and left them idle (handshake done, no request); the difference / N.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { handshakes } from './load.ts';
import { CLIENT_CORE, NOFILE, processTree, rssKiB, stopPinned, waitForPort } from './lib/proc.ts';
import type { BenchContext, Target } from './targets/types.ts';

export interface MemoryResult {
  connections: number;
  rssBeforeKiB: number;
  rssAfterKiB: number;
  kibPerConnection: number;
  failed: number;
}

const clientScript = fileURLToPath(new URL('./servers/idle-client.ts', import.meta.url));

/** Median of a few VmRSS samples over `ms`, so one GC in between does not decide the number. */
async function settledRss(pids: readonly number[], ms: number): Promise<number> {
  const samples: number[] = [];
  for (let i = 0; i < 5; i++) {
    await sleep(ms / 5);
    samples.push(rssKiB(pids));
  }
  samples.sort((a, b) => a - b);
  return samples[2]!;
}

export async function measureMemory(ctx: BenchContext, target: Target, port: number, count: number): Promise<MemoryResult> {
  const proc = target.start(ctx, port);
  try {
    await waitForPort(port, proc);
    await handshakes(port, 300);
    await sleep(500);
    const pids = processTree(proc.pid);
    const before = await settledRss(pids, 1_500);

    const client = spawn(
      'prlimit',
      [`--nofile=${NOFILE}:${NOFILE}`, 'taskset', '-c', String(CLIENT_CORE), ctx.node, clientScript, JSON.stringify({ port, count, concurrency: 64 })],
      { stdio: ['pipe', 'pipe', 'inherit'] },
    );
    let out = '';
    client.stdout.on('data', (c: Buffer) => (out += c.toString('utf8')));
    const line = async (n: number): Promise<{ open: number; failed: number }> => {
      const deadline = Date.now() + 120_000;
      while (out.split('\n').filter(Boolean).length < n) {
        if (client.exitCode !== null || Date.now() > deadline) throw new Error(`idle client stopped: ${out}`);
        await sleep(100);
      }
      return JSON.parse(out.split('\n').filter(Boolean)[n - 1]!) as { open: number; failed: number };
    };
    try {
      const opened = await line(1);
      const after = await settledRss(processTree(proc.pid), 2_500);
      client.stdin.end();
      const still = await line(2);
      const open = Math.min(opened.open, still.open);
      if (open === 0) throw new Error('no connection stayed open');
      return {
        connections: open,
        rssBeforeKiB: before,
        rssAfterKiB: after,
        kibPerConnection: (after - before) / open,
        failed: count - open,
      };
    } finally {
      if (client.exitCode === null) {
        client.stdin.end();
        const exited = once(client, 'exit');
        const timer = setTimeout(() => client.kill('SIGKILL'), 5_000);
        await exited;
        clearTimeout(timer);
      }
    }
  } finally {
    await stopPinned(proc);
  }
}
