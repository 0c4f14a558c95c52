import type { GetPromptResult } from '@modelcontextprotocol/server';
import { z } from 'zod';
import { asMcpErrors } from '../../shared/errors.js';
import { sectionUri, webLink } from './docsUris.js';
import type { DocsServerContext } from './serverContext.js';

const EMBEDDED_SECTIONS = 3;
const SECTION_TEXT_MAX = 6_000;

/**
 * `answer_from_docs`: the question plus the best-matching sections, embedded as resources,
 * so any client can answer from the documentation in one step and cite it.
 */
export function registerDocsPrompts(ctx: DocsServerContext): void {
  ctx.server.registerPrompt(
    'answer_from_docs',
    {
      title: 'Answer from the documentation',
      description: `Answer a question using the documentation: embeds the ${EMBEDDED_SECTIONS} best-matching sections and asks for an answer that cites them.`,
      argsSchema: {
        question: z.string().min(1).max(500).describe('The question to answer.'),
        path_prefix: z.string().max(200).optional().describe('Only search documents under this folder, e.g. "guides/".'),
      },
    },
    asMcpErrors(async (args): Promise<GetPromptResult> => {
      const { hits } = await ctx.docsIndex.search(args.question, { limit: EMBEDDED_SECTIONS, ...(args.path_prefix ? { pathPrefix: args.path_prefix } : {}) });
      const sections = await Promise.all(hits.map((hit) => ctx.docsIndex.getSection(hit.path, hit.anchor, true)));
      const intro =
        `Answer this question from the documentation below: ${args.question}\n\n` +
        (sections.length
          ? 'Cite the sections you use by their path and anchor (or link). If they do not answer it, say so and suggest search_docs with other words.'
          : 'No section matched. Say so, and suggest search_docs with other words or list_documents.');
      return {
        description: `Documentation for: ${args.question}`,
        messages: [
          { role: 'user', content: { type: 'text', text: intro } },
          ...sections.map(({ section, text }) => {
            const link = webLink(ctx.baseUrl, section.path, section.anchor);
            return {
              role: 'user' as const,
              content: {
                type: 'resource' as const,
                resource: {
                  uri: sectionUri(section.path, section.anchor),
                  mimeType: 'text/markdown',
                  text: `<!-- ${section.breadcrumbs.join(' › ')}${link ? ` — ${link}` : ''} -->\n${text.slice(0, SECTION_TEXT_MAX)}`,
                },
              },
            };
          }),
        ],
      };
    }),
  );
}
