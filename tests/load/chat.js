// Load test: the analyzer in front of the mock upstream vs the client calling the mock upstream
// directly, in one run. Every iteration sends the same ~1 KB benign prompt both ways, so both
// paths see the same machine load. Run by scripts/load-test.sh.
import http from 'k6/http';
import { check } from 'k6';
import { Trend, Counter } from 'k6/metrics';

const direct = new Trend('latency_direct', true);
const viaAnalyzer = new Trend('latency_analyzer', true);
const notAllowed = new Counter('analyzer_not_allowed');

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

export const options = {
  scenarios: {
    paired: {
      executor: 'constant-vus',
      vus: Number(__ENV.VUS || 2),
      duration: __ENV.DURATION || '20s',
    },
  },
  summaryTrendStats: ['p(50)', 'p(90)', 'p(99)', 'max', 'count'],
};

const params = { headers: { 'content-type': 'application/json' } };

export default function () {
  const body = JSON.stringify({
    model: 'mock',
    messages: [{ role: 'user', content: prompt(__ITER + __VU * 7) }],
  });
  const d = http.post(`${__ENV.UPSTREAM}/chat/completions`, body, params);
  check(d, { 'direct 200': (r) => r.status === 200 });
  direct.add(d.timings.duration);
  // Each virtual user is one long conversation, so every request runs the session analysis.
  const sessionParams = {
    headers: { 'content-type': 'application/json', 'x-mnemosyne-session': `load-vu-${__VU}` },
  };
  const a = http.post(`${__ENV.ANALYZER}/v1/chat/completions`, body, sessionParams);
  check(a, { 'analyzer 200': (r) => r.status === 200 });
  if (a.headers['X-Mnemosyne-Verdict'] !== 'allow') notAllowed.add(1);
  viaAnalyzer.add(a.timings.duration);
}

export function handleSummary(data) {
  const m = (name, stat) => data.metrics[name].values[stat];
  const row = (label, name) =>
    `| ${label} | ${m(name, 'p(50)').toFixed(3)} | ${m(name, 'p(90)').toFixed(3)} | ${m(name, 'p(99)').toFixed(3)} | ${m(name, 'count')} |`;
  const added = (stat) => (m('latency_analyzer', stat) - m('latency_direct', stat)).toFixed(3);
  const notAllowedCount = data.metrics.analyzer_not_allowed ? data.metrics.analyzer_not_allowed.values.count : 0;
  const table = [
    '| path | p50 ms | p90 ms | p99 ms | requests |',
    '|---|---|---|---|---|',
    row('client → mock upstream', 'latency_direct'),
    row('client → analyzer → mock upstream', 'latency_analyzer'),
    `| added by the analyzer | ${added('p(50)')} | ${added('p(90)')} | ${added('p(99)')} | |`,
    '',
    `analyzer answers that were not "allow": ${notAllowedCount}; failed checks: ${data.metrics.checks.values.fails}`,
  ].join('\n');
  return { stdout: table + '\n', [__ENV.SUMMARY || 'load-summary.json']: JSON.stringify(data, null, 1) };
}
