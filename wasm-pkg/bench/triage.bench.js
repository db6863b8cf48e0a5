// Per-call triage time inside the JavaScript engine (Node), for 1 KB and 10 KB prompts:
// median and p99 over timed batches, after a warm-up. Run: node wasm-pkg/bench/triage.bench.js
const path = require("node:path");
const { triage } = require(process.env.MNEMOSYNE_PKG || path.join(__dirname, "..", "pkg"));

const SENTENCES = [
  "Could you help me plan a three-day trip to Lisbon with a focus on food and museums? ",
  "I am writing a report on renewable energy adoption in rural areas and need an outline. ",
  "Explain the difference between a process and a thread, with a short Rust example. ",
  "My tomato plants have yellow leaves near the bottom; what could be causing that? ",
  "Summarize the main arguments of the attached meeting notes in five bullet points. ",
  "Write a friendly reminder email about the quarterly planning session on Thursday. ",
];
const text = (size) => {
  let s = "";
  for (let i = 0; s.length < size; i++) s += SENTENCES[i % SENTENCES.length];
  return s.slice(0, size);
};
const body = (size) => JSON.stringify({ model: "m", messages: [{ role: "user", content: text(size) }] });

function measure(label, input, batches, perBatch) {
  for (let i = 0; i < 200; i++) triage(input);
  const samples = [];
  for (let b = 0; b < batches; b++) {
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < perBatch; i++) triage(input);
    samples.push(Number(process.hrtime.bigint() - t0) / 1000 / perBatch);
  }
  samples.sort((a, b) => a - b);
  const at = (q) => samples[Math.min(samples.length - 1, Math.floor(q * samples.length))];
  console.log(`| ${label} | ${at(0.5).toFixed(1)} | ${at(0.99).toFixed(1)} | ${batches * perBatch} |`);
}

console.log(`node ${process.version}; ${new Date().toISOString()}`);
console.log("| prompt | median µs per triage | p99 µs (per batch mean) | calls |");
console.log("|---|---|---|---|");
measure("1 KB", body(1024), 200, 50);
measure("10 KB", body(10 * 1024), 100, 10);
