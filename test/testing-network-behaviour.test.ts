// m2m-token/testing's network as a test file meets it: msw is loaded on first use (also by a fresh copy of the
// entry, as each Jest or vitest module registry loads one), and a mocked request prints nothing: the test output
// stays the test's own.
import { http as mswHttp, HttpResponse } from 'msw';
import { afterEach, describe, expect, it, vi } from 'vitest';

afterEach(() => {
  vi.restoreAllMocks();
});

describe('mockNetwork', () => {
  it('a fresh copy of the entry loads msw on first use and mocks requests', async () => {
    vi.resetModules();
    const { mockNetwork } = await import('m2m-token/testing');
    const network = mockNetwork(mswHttp.get('https://fresh.example.com/x', () => HttpResponse.json({ fresh: true })));
    await network.enable();
    try {
      const response = await fetch('https://fresh.example.com/x');
      expect(await response.json()).toEqual({ fresh: true });
    } finally {
      network.disable();
    }
  });

  it('a mocked request prints nothing to the console', async () => {
    const { mockNetwork } = await import('m2m-token/testing');
    const printed: string[] = [];
    for (const method of ['error', 'warn', 'log', 'info', 'debug', 'group', 'groupCollapsed', 'groupEnd', 'table'] as const) {
      vi.spyOn(console, method).mockImplementation((...args: unknown[]) => void printed.push(`${method} ${args.map(String).join(' ')}`));
    }
    const network = mockNetwork(mswHttp.get('https://quiet.example.com/x', () => HttpResponse.json({ ok: true })));
    await network.enable();
    try {
      expect((await fetch('https://quiet.example.com/x')).status).toBe(200);
    } finally {
      network.disable();
    }
    expect(printed).toEqual([]);
  });
});
