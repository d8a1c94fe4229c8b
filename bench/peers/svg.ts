// The bar chart of `npm run bench:peers` (bench/peers/results.svg), written as SVG text: no chart library.

export interface Results {
  date: string;
  machine: string;
  load: { start: string; end: string };
  build: string;
  quick: boolean;
  cold: { name: string; callsPerSec?: number; cpuUsPerCall?: number; ratio?: number; cpuRatio?: number; error?: string }[];
  cached: { name: string; opsPerSec?: number; opsPerCpuSec?: number; ratio?: number; error?: string }[];
  stampede: { name: string; requests?: number; error?: string }[];
  coldStart: {
    rounds: number;
    bare: number;
    results: { name: string; module: 'import' | 'require'; overBare?: number; p25?: number; p75?: number; ratio?: number; cpuOverBare?: number; error?: string }[];
  };
  imports: { bare: number; bareEsm: number; results: { name: string; esmOverBare?: number; cjsOverBare?: number; esmError?: string; cjsError?: string }[] };
  memory: unknown;
}

interface Bar {
  label: string;
  value: number | undefined;
  /** Shown instead of the value, e.g. a failure. */
  note?: string;
  ours: boolean;
  /** Second series (require beside import). */
  second?: number | undefined;
  /** A spread drawn as a whisker over the bar (p25–p75). */
  range?: [number, number];
}

const WIDTH = 960;
const LABEL_W = 380;
const BAR_W = 440;
const ROW_H = 22;
const OURS = '#2563eb';
const OURS_2 = '#93c5fd';
const PEER = '#9ca3af';
const PEER_2 = '#d1d5db';

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
const isOurs = (name: string) => name.startsWith('m2m-token');
/** Chart labels: the table's names, shortened to fit the label column. */
const short = (name: string) => name.replace('{ audience, organization, scope }', '{ audience, org, scope }').replace(' TokenClient.getToken', ' getToken');

function panel(
  y: number,
  title: string,
  bars: Bar[],
  opts: { max: number; scale?: 'linear' | 'log'; floorAt?: number; floorLabel?: string; format: (v: number) => string; legend?: [string, string] },
): { svg: string; height: number } {
  const parts: string[] = [];
  parts.push(`<text x="20" y="${y + 16}" class="h">${esc(title)}</text>`);
  let top = y + 28;
  if (opts.legend) {
    parts.push(`<rect x="${LABEL_W}" y="${top - 2}" width="10" height="10" fill="${PEER}"/><text x="${LABEL_W + 14}" y="${top + 7}" class="s">${esc(opts.legend[0])}</text>`);
    parts.push(`<rect x="${LABEL_W + 120}" y="${top - 2}" width="10" height="10" fill="${PEER_2}"/><text x="${LABEL_W + 134}" y="${top + 7}" class="s">${esc(opts.legend[1])}</text>`);
    top += 16;
  }
  const scale = (v: number) => {
    if (opts.scale === 'log') return (Math.log10(Math.max(v, 1)) / Math.log10(opts.max)) * BAR_W;
    return (Math.min(v, opts.max) / opts.max) * BAR_W;
  };
  bars.forEach((bar, i) => {
    const rowY = top + i * ROW_H;
    parts.push(`<text x="${LABEL_W - 8}" y="${rowY + 14}" class="${bar.ours ? 'l b' : 'l'}" text-anchor="end">${esc(short(bar.label))}</text>`);
    if (bar.value === undefined) {
      parts.push(`<text x="${LABEL_W + 4}" y="${rowY + 14}" class="s">${esc(bar.note ?? 'not measured')}</text>`);
      return;
    }
    const double = bar.second !== undefined;
    const h = double ? 8 : 16;
    const w1 = Math.max(3, scale(bar.value));
    parts.push(`<rect x="${LABEL_W}" y="${rowY + 2}" width="${w1.toFixed(1)}" height="${h}" fill="${bar.ours ? OURS : PEER}"/>`);
    let end = w1;
    if (bar.range) {
      const [x1, x2] = bar.range.map((v) => LABEL_W + Math.max(0, scale(Math.max(v, 0))));
      const mid = rowY + 10;
      parts.push(`<path d="M${x1!.toFixed(1)} ${mid}H${x2!.toFixed(1)}M${x1!.toFixed(1)} ${mid - 4}V${mid + 4}M${x2!.toFixed(1)} ${mid - 4}V${mid + 4}" stroke="#111827" stroke-width="1"/>`);
      end = Math.max(end, x2! - LABEL_W);
    }
    let text = opts.format(bar.value);
    if (double) {
      const w2 = Math.max(3, scale(bar.second!));
      parts.push(`<rect x="${LABEL_W}" y="${rowY + 11}" width="${w2.toFixed(1)}" height="${h}" fill="${bar.ours ? OURS_2 : PEER_2}"/>`);
      end = Math.max(w1, w2);
      text = `${opts.format(bar.value)} / ${opts.format(bar.second!)}`;
    }
    // A value label that would run over the floor line goes inside its bar when it fits there, else after the line.
    const floorX = opts.floorAt === undefined ? undefined : scale(opts.floorAt);
    const label = `${esc(text)}${bar.note ? ` ${esc(bar.note)}` : ''}`;
    const textWidth = (text.length + (bar.note ? bar.note.length + 1 : 0)) * 6.2;
    const cls = bar.ours ? 'v b' : 'v';
    if (floorX !== undefined && end < floorX && end + textWidth + 6 > floorX) {
      if (!double && w1 > textWidth + 12) {
        parts.push(`<text x="${(LABEL_W + w1 - 6).toFixed(1)}" y="${rowY + 14}" class="${cls} in" text-anchor="end">${label}</text>`);
        return;
      }
      end = floorX;
    }
    parts.push(`<text x="${(LABEL_W + end + 6).toFixed(1)}" y="${rowY + 14}" class="${cls}">${label}</text>`);
  });
  const bottom = top + bars.length * ROW_H;
  if (opts.floorAt !== undefined) {
    const x = LABEL_W + scale(opts.floorAt);
    parts.push(`<line x1="${x.toFixed(1)}" y1="${top - 4}" x2="${x.toFixed(1)}" y2="${bottom}" stroke="#111827" stroke-dasharray="4 3"/>`);
    if (opts.floorLabel) parts.push(`<text x="${(x + 4).toFixed(1)}" y="${bottom + 12}" class="s">${esc(opts.floorLabel)}</text>`);
  }
  return { svg: parts.join('\n'), height: bottom - y + 24 };
}

/** "(2.9× floor, CPU 80 ms)" beside a cold-start bar. */
function coldStartNote(c: Results['coldStart']['results'][number]): string | undefined {
  const parts: string[] = [];
  if (c.ratio !== undefined && !c.name.startsWith('floor')) parts.push(`${c.ratio.toFixed(1)}× floor`);
  if (c.cpuOverBare !== undefined) parts.push(`CPU ${c.cpuOverBare.toFixed(0)} ms`);
  return parts.length > 0 ? `(${parts.join(', ')})` : undefined;
}

export function renderSvg(r: Results): string {
  const sections: string[] = [];
  let y = 72;
  const add = (p: { svg: string; height: number }) => {
    sections.push(p.svg);
    y += p.height + 8;
  };

  const coldBars: Bar[] = r.cold
    .filter((c) => !c.name.startsWith('floor'))
    .map((c) => ({ label: c.name, value: c.ratio, ours: isOurs(c.name), note: c.error ? 'failed' : c.cpuUsPerCall ? `(${Math.round(c.cpuUsPerCall)} µs CPU/call)` : undefined }));
  const floorCpu = r.cold.find((c) => c.name.startsWith('floor'))?.cpuUsPerCall;
  add(panel(y, 'Fetching a token: calls/s relative to raw undici.request (higher is better)', coldBars, {
    max: Math.max(1.05, ...coldBars.map((b) => b.value ?? 0)),
    floorAt: 1,
    floorLabel: `floor${floorCpu ? `, ${Math.round(floorCpu)} µs CPU/call` : ''}`,
    format: (v) => `${v.toFixed(2)}×`,
  }));

  const cachedBars: Bar[] = r.cached
    .filter((c) => !c.name.startsWith('floor'))
    .map((c) => ({ label: c.name, value: c.ratio, ours: isOurs(c.name), note: c.error ? 'failed' : undefined }));
  const floorOps = r.cached.find((c) => c.name.startsWith('floor'))?.opsPerCpuSec;
  add(panel(y, 'Cached token: ops per CPU second relative to an awaited Map.get + clock read (higher is better)', cachedBars, {
    max: Math.max(1.05, ...cachedBars.map((b) => b.value ?? 0)),
    floorAt: 1,
    floorLabel: `floor${floorOps ? `, ${Math.round(1e9 / floorOps)} ns CPU/op` : ''}`,
    format: (v) => `${v < 0.1 ? v.toFixed(4) : v.toFixed(2)}×`,
  }));

  const stampedeBars: Bar[] = r.stampede.map((s) => ({ label: s.name, value: s.requests, ours: isOurs(s.name), note: s.error ? 'failed' : undefined }));
  add(panel(y, '1 000 concurrent callers, cold cache: requests sent (lower is better, log scale)', stampedeBars, {
    max: 1000,
    scale: 'log',
    format: (v) => String(v),
  }));

  const importBars: Bar[] = r.imports.results.map((i) => ({
    label: i.name,
    value: i.esmOverBare ?? i.cjsOverBare,
    second: i.esmOverBare !== undefined ? i.cjsOverBare : undefined,
    ours: isOurs(i.name),
    note: i.esmError && i.cjsError ? 'fails to load' : undefined,
  }));
  add(panel(y, `Import cost over bare node (${r.imports.bare.toFixed(0)} ms), ms (lower is better)`, importBars, {
    max: Math.max(20, ...importBars.map((b) => Math.max(b.value ?? 0, b.second ?? 0))),
    format: (v) => v.toFixed(1),
    legend: ['import', 'require'],
  }));

  const coldStartBars: Bar[] = r.coldStart.results.map((c) => ({
    label: c.module === 'require' && !c.name.includes('require') ? `${c.name} (require)` : c.name,
    value: c.overBare,
    range: c.p25 !== undefined && c.p75 !== undefined ? [c.p25, c.p75] : undefined,
    ours: isOurs(c.name),
    note: c.error ? 'failed' : coldStartNote(c),
  }));
  const coldStartFloor = r.coldStart.results.find((c) => c.name.startsWith('floor'))?.overBare;
  add(panel(y, `Cold start: first token in a fresh process, wall ms over bare node (${r.coldStart.bare.toFixed(0)} ms), median and p25–p75 (lower is better)`, coldStartBars, {
    // Headroom: the value and its note go after the longest whisker.
    max: Math.max(20, ...coldStartBars.map((b) => Math.max(b.value ?? 0, b.range?.[1] ?? 0))) * 1.3,
    floorAt: coldStartFloor,
    floorLabel: coldStartFloor === undefined ? undefined : `floor, ${coldStartFloor.toFixed(0)} ms`,
    format: (v) => v.toFixed(0),
  }));

  const memory = r.memory as { keys?: number; max?: number; cachedTokens?: number; before?: number; after?: number; error?: string };
  const mib = (b: number) => `${(b / 2 ** 20).toFixed(1)} MiB`;
  const memoryLine = memory.error !== undefined || memory.keys === undefined
    ? `Memory row failed: ${memory.error ?? 'no result'}`
    : `Memory, m2m-token: ${memory.keys.toLocaleString('en-US')} distinct audiences, cache.max ${memory.max} → ${memory.cachedTokens} tokens cached; heap after gc ${mib(memory.before!)} → ${mib(memory.after!)}`;
  sections.push(`<text x="20" y="${y + 8}" class="l">${esc(memoryLine)}</text>`);
  y += 24;
  const height = y + 26;
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${height}" viewBox="0 0 ${WIDTH} ${height}" role="img" aria-label="m2m-token benchmark beside other client_credentials libraries">
<style>
text { font-family: system-ui, -apple-system, 'Segoe UI', Helvetica, Arial, sans-serif; fill: #111827; }
.t { font-size: 16px; font-weight: 600; }
.h { font-size: 13px; font-weight: 600; }
.l { font-size: 12px; }
.v { font-size: 11px; fill: #374151; }
.s { font-size: 11px; fill: #4b5563; }
.b { font-weight: 600; fill: #1d4ed8; }
.in { fill: #ffffff; }
</style>
<rect width="100%" height="100%" fill="#ffffff"/>
<text x="20" y="26" class="t">m2m-token beside other Node client_credentials libraries — ${esc(r.date)}${r.quick ? ' (quick run)' : ''}</text>
<text x="20" y="44" class="s">${esc(r.machine)}; load average at start ${esc(r.load.start)}.</text>
<text x="20" y="58" class="s">Medians over interleaved rounds; one local token server (127.0.0.1) in its own process; m2m-token from its built dist/.</text>
${sections.join('\n')}
<text x="20" y="${height - 10}" class="s">npm run bench:peers · ratios are to floors measured in the same run · figures in bench/peers/results.json</text>
</svg>
`;
}
