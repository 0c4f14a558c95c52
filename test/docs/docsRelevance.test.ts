import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO_ROOT, startInProcess, structured, type InProcessDocs } from './helpers.js';

/**
 * Search relevance, measured: the evaluation set in relevance/questions.json asks questions a
 * user would ask about Manifold, each with the section(s) of the project's own docs/ that answer
 * it. search_docs must put an answer first for at least 85% of them, and in the top three for
 * at least 95%.
 */

interface EvaluationSet {
  questions: Array<{ question: string; answers: string[] }>;
}

const evaluation = JSON.parse(readFileSync(path.join(import.meta.dirname, 'relevance', 'questions.json'), 'utf8')) as EvaluationSet;

interface Hit {
  path: string;
  anchor: string;
  uri: string;
  score: number;
}

describe('search relevance over docs/ (evaluation set)', () => {
  let docs: InProcessDocs;
  beforeAll(async () => {
    docs = await startInProcess(path.join(REPO_ROOT, 'docs'));
  });
  afterAll(async () => {
    await docs?.close();
  });

  it('has at least 30 questions, each naming sections that exist', async () => {
    expect(evaluation.questions.length).toBeGreaterThanOrEqual(30);
    for (const { answers } of evaluation.questions) {
      for (const answer of answers) {
        const [file = '', anchor = ''] = answer.split('#');
        const read = await docs.client.callTool({ name: 'get_section', arguments: { path: file, anchor } });
        expect(read.isError, answer).toBeFalsy();
      }
    }
  });

  it('puts an answer first for at least 85% of the questions and in the top three for at least 95%', async () => {
    let top1 = 0;
    let top3 = 0;
    const misses: string[] = [];
    const notFirst: string[] = [];
    for (const { question, answers } of evaluation.questions) {
      const { results } = structured<{ results: Hit[] }>(await docs.client.callTool({ name: 'search_docs', arguments: { query: question, limit: 3 } }));
      const found = results.map((hit) => `${hit.path}#${hit.anchor}`);
      if (answers.includes(found[0] ?? '')) top1++;
      else notFirst.push(`"${question}": first ${found[0] ?? 'nothing'}, expected ${answers.join(' or ')}`);
      if (found.some((ref) => answers.includes(ref))) top3++;
      else misses.push(`"${question}": expected ${answers.join(' or ')}, got ${found.join(', ') || 'nothing'}`);
      // Every result's uri is the section URI the workflows link.
      for (const hit of results) expect(hit.uri).toBe(`docs://${hit.path}${hit.anchor ? `#${hit.anchor}` : ''}`);
    }
    const total = evaluation.questions.length;
    const percent = (n: number): string => `${((100 * n) / total).toFixed(1)}%`;
    process.stdout.write(`docs relevance: top-1 ${top1}/${total} (${percent(top1)}), top-3 ${top3}/${total} (${percent(top3)})\n`);
    for (const miss of notFirst) process.stdout.write(`  not first: ${miss}\n`);
    expect(top1 / total, `top-1 ${percent(top1)}`).toBeGreaterThanOrEqual(0.85);
    expect(top3 / total, `top-3 ${percent(top3)}; not in the top three:\n${misses.join('\n')}`).toBeGreaterThanOrEqual(0.95);
  });

  it('scores a section that answers the question above one that merely mentions its words', async () => {
    const { results } = structured<{ results: Hit[] }>(
      await docs.client.callTool({ name: 'search_docs', arguments: { query: 'what scopes exist', limit: 10 } }),
    );
    expect(results[0]).toMatchObject({ path: 'configuration/scopes.md', anchor: 'which-scopes-exist' });
    const first = results[0]?.score ?? 0;
    const last = results[results.length - 1]?.score ?? 1;
    expect(first).toBeGreaterThan(0.5);
    expect(first).toBeLessThanOrEqual(1);
    expect(last).toBeGreaterThan(0);
    expect(last).toBeLessThan(first);
    for (let i = 1; i < results.length; i++) expect(results[i]?.score ?? 0).toBeLessThanOrEqual(results[i - 1]?.score ?? 0);
  });
});
