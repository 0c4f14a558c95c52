import { z } from 'zod';

/**
 * Curated views: small, purpose-built selections of tools, prompts and resources from any
 * upstream (and composite tools), served at `/views/{name}/mcp`. References use the
 * aggregate's names (`pm__create_task`, `flow__task_context`); a tool may be renamed and
 * its description overridden for the view.
 */
const MODEL_SAFE_NAME = /^[a-zA-Z0-9_-]{1,64}$/;

const toolReference = z.union([
  z.string().min(1),
  z
    .object({
      tool: z.string().min(1),
      /** The name the view shows (1-64 of A-Z a-z 0-9 _ -). */
      as: z.string().regex(MODEL_SAFE_NAME, 'must be 1-64 characters of A-Z a-z 0-9 _ -').optional(),
      description: z.string().min(1).max(4000).optional(),
    })
    .strict(),
]);

export const viewSchema = z
  .object({
    name: z.string().regex(/^[a-z][a-z0-9-]{0,31}$/, 'must be 1-32 characters: a lowercase letter, then lowercase letters, digits or "-"'),
    description: z.string().max(1000).optional(),
    tools: z.array(toolReference).default([]),
    /** Prompts by aggregate name (`pm__sprint_planning`). */
    prompts: z.array(z.string().min(1)).default([]),
    /** Namespaces whose resources and resource templates the view includes. */
    resources: z.array(z.string().min(1)).default([]),
    /** Scopes a token needs to open the view at all, besides each tool's own scope. */
    scopes: z.array(z.string().regex(/^[\x21\x23-\x5B\x5D-\x7E]{1,128}$/, 'must be a scope token')).default([]),
  })
  .strict()
  .superRefine((view, ctx) => {
    const seen = new Map<string, number>();
    view.tools.forEach((reference, index) => {
      const shown = typeof reference === 'string' ? reference : (reference.as ?? reference.tool);
      const first = seen.get(shown);
      if (first !== undefined) {
        ctx.addIssue({
          code: 'custom',
          path: ['tools', index],
          message: `"${shown}" is already the name of tools[${first}] in this view; names in a view must be unique`,
        });
      } else seen.set(shown, index);
    });
  });

export const viewsSchema = z
  .array(viewSchema)
  .default([])
  .superRefine((views, ctx) => {
    const names = new Set<string>();
    views.forEach((view, index) => {
      if (names.has(view.name)) ctx.addIssue({ code: 'custom', path: [index, 'name'], message: `duplicate view name "${view.name}"` });
      names.add(view.name);
    });
  });

export type ViewSettings = z.output<typeof viewSchema>;

/** A tool reference with its shown name. */
export function toolEntries(view: ViewSettings): Array<{ index: number; source: string; shown: string; description: string | undefined }> {
  return view.tools.map((reference, index) =>
    typeof reference === 'string'
      ? { index, source: reference, shown: reference, description: undefined }
      : { index, source: reference.tool, shown: reference.as ?? reference.tool, description: reference.description },
  );
}
