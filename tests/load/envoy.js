// Envoy with the Mnemosyne filter vs the same Envoy without it, in front of the mock upstream,
// on ~1 KB benign prompts. Two phases of the same length and load, one per Envoy, in one run:
// throughput (requests/s) and latency percentiles of each. Run by scripts/bench-envoy.sh.
import http from 'k6/http';
import { check } from 'k6';
import { Trend, Counter } from 'k6/metrics';

const latency = { plain: new Trend('latency_plain', true), filter: new Trend('latency_filter', true) };
const done = { plain: new Counter('done_plain'), filter: new Counter('done_filter') };

const SENTENCES = [
  'Could you help me plan a three-day trip to Lisbon with a focus on food and museums? ',
  'I am writing a report on renewable energy adoption in rural areas and need an outline. ',
  'Explain the difference between a process and a thread, with a short Rust example. ',
  'My tomato plants have yellow leaves near the bottom; what could be causing that? ',
  'Summarize the main arguments of the attached meeting notes in five bullet points. ',
  'Write a friendly reminder email about the quarterly planning session on Thursday. ',
  'What are good practices for naming database columns in a Postgres schema? ',
  'Translate the following paragraph into Spanish, keeping a formal tone. ',
];

function prompt(i) {
  let out = '';
  let k = i;
  while (out.length < 1024) {
    out += SENTENCES[k % SENTENCES.length];
    k += 3;
  }
  return out.slice(0, 1024);
}

const VUS = Number(__ENV.VUS || 4);
const PHASE = Number(__ENV.PHASE_SECONDS || 15);

export const options = {
  scenarios: {
    plain: { executor: 'constant-vus', vus: VUS, duration: `${PHASE}s`, exec: 'plain' },
    filter: { executor: 'constant-vus', vus: VUS, duration: `${PHASE}s`, exec: 'filter', startTime: `${PHASE + 2}s` },
  },
  summaryTrendStats: ['p(50)', 'p(90)', 'p(99)', 'count'],
};

const params = { headers: { 'content-type': 'application/json' } };

function send(kind, base) {
  const body = JSON.stringify({ model: 'mock', messages: [{ role: 'user', content: prompt(__ITER + __VU * 7) }] });
  const r = http.post(`${base}/v1/chat/completions`, body, params);
  check(r, { [`${kind} 200`]: (x) => x.status === 200 });
  if (kind === 'filter') check(r, { 'filter allowed': (x) => x.headers['X-Mnemosyne-Verdict'] === 'allow' });
  latency[kind].add(r.timings.duration);
  done[kind].add(1);
}

export function plain() { send('plain', __ENV.PLAIN); }
export function filter() { send('filter', __ENV.FILTER); }

export function handleSummary(data) {
  const m = (name, stat) => data.metrics[name].values[stat];
  const rate = (kind) => m(`done_${kind}`, 'count') / PHASE;
  const row = (label, kind) =>
    `| ${label} | ${rate(kind).toFixed(0)} | ${m(`latency_${kind}`, 'p(50)').toFixed(3)} | ${m(`latency_${kind}`, 'p(90)').toFixed(3)} | ${m(`latency_${kind}`, 'p(99)').toFixed(3)} |`;
  const table = [
    `| Envoy (${VUS} virtual users, ${PHASE} s each) | requests/s | p50 ms | p90 ms | p99 ms |`,
    '|---|---|---|---|---|',
    row('without the filter', 'plain'),
    row('with the Mnemosyne filter', 'filter'),
    '',
    `throughput kept: ${(100 * rate('filter') / rate('plain')).toFixed(1)} %; added at the median: ${(m('latency_filter', 'p(50)') - m('latency_plain', 'p(50)')).toFixed(3)} ms; failed checks: ${data.metrics.checks.values.fails}`,
  ].join('\n');
  return { stdout: table + '\n', [__ENV.SUMMARY || 'envoy-bench.json']: JSON.stringify(data, null, 1) };
}
