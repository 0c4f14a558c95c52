import { readFile } from 'node:fs/promises';
import { z } from 'zod';
import { DomainError } from '../../shared/errors.js';
import { formatJsonPath } from '../../shared/config.js';

/**
 * Who is who: people (email, name, GitHub login) and GitHub teams with their members, so
 * that CODEOWNERS entries (`@login`, `@org/team`, `email`) become people who can be assigned
 * tasks. The file is read on each use, so edits apply without a restart.
 */
const email = z.email('must be an email address');
const login = z.string().regex(/^[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})$/, 'must be a GitHub login');

export const teamDirectorySchema = z
  .object({
    people: z.array(z.object({ email, name: z.string().min(1).max(200).optional(), github: login.optional() }).strict()).default([]),
    teams: z
      .array(
        z
          .object({
            /** "org/team-slug", as CODEOWNERS names it without the "@". */
            github: z.string().regex(/^[A-Za-z0-9-]+\/[A-Za-z0-9._-]+$/, 'must be "org/team-slug"'),
            name: z.string().min(1).max(200).optional(),
            /** Emails of people listed in `people`. */
            members: z.array(email).default([]),
            /** Who gets the team's tasks; default: the first member. */
            lead: email.optional(),
          })
          .strict(),
      )
      .default([]),
  })
  .strict()
  .superRefine((directory, ctx) => {
    const known = new Set(directory.people.map((p) => p.email.toLowerCase()));
    directory.teams.forEach((team, index) => {
      team.members.forEach((member, m) => {
        if (!known.has(member.toLowerCase())) ctx.addIssue({ code: 'custom', path: ['teams', index, 'members', m], message: `"${member}" is not in people` });
      });
      if (team.lead && !team.members.some((m) => m.toLowerCase() === team.lead!.toLowerCase())) {
        ctx.addIssue({ code: 'custom', path: ['teams', index, 'lead'], message: 'must be one of the members' });
      }
    });
  });

export interface Person {
  email: string;
  name: string | null;
  github: string | null;
}

/** A CODEOWNERS entry and the people it stands for (a team's lead first). */
export interface ResolvedOwner {
  owner: string;
  kind: 'user' | 'team' | 'email';
  people: Person[];
}

export class TeamDirectory {
  private constructor(
    private readonly directory: z.output<typeof teamDirectorySchema>,
    /** Where it was read from, for messages; null when none is configured. */
    readonly source: string | null,
  ) {}

  static empty(): TeamDirectory {
    return new TeamDirectory({ people: [], teams: [] }, null);
  }

  /** Read and validate the file; a problem names the file and the JSON path. */
  static async load(file: string | undefined): Promise<TeamDirectory> {
    if (!file) return TeamDirectory.empty();
    let document: unknown;
    try {
      document = JSON.parse(await readFile(file, 'utf8'));
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      throw new DomainError('unavailable', `The team directory ${file} cannot be read (${code ?? (error as Error).message}).`, {
        action: 'Fix workflows.teamDirectory in the gateway configuration.',
      });
    }
    const parsed = teamDirectorySchema.safeParse(document);
    if (!parsed.success) {
      const problems = parsed.error.issues.map((issue) => `${formatJsonPath(issue.path)}: ${issue.message}`).join('; ');
      throw new DomainError('unavailable', `The team directory ${file} is invalid: ${problems}.`, {
        action: 'Fix the file; it is read again on the next call.',
      });
    }
    return new TeamDirectory(parsed.data, file);
  }

  private person(emailAddress: string): Person | undefined {
    const found = this.directory.people.find((p) => p.email.toLowerCase() === emailAddress.toLowerCase());
    return found ? { email: found.email, name: found.name ?? null, github: found.github ?? null } : undefined;
  }

  /** The people a CODEOWNERS owner stands for; empty when the directory does not know it. */
  resolve(owner: string): ResolvedOwner {
    if (!owner.startsWith('@')) {
      return { owner, kind: 'email', people: [this.person(owner) ?? { email: owner, name: null, github: null }] };
    }
    const handle = owner.slice(1);
    if (handle.includes('/')) {
      const team = this.directory.teams.find((t) => t.github.toLowerCase() === handle.toLowerCase());
      const emails = team ? [...(team.lead ? [team.lead] : []), ...team.members.filter((m) => m !== team.lead)] : [];
      return { owner, kind: 'team', people: emails.map((e) => this.person(e)).filter((p): p is Person => p !== undefined) };
    }
    const found = this.directory.people.find((p) => p.github?.toLowerCase() === handle.toLowerCase());
    return { owner, kind: 'user', people: found ? [{ email: found.email, name: found.name ?? null, github: found.github ?? null }] : [] };
  }

  /** A person by GitHub login, for issue assignees. */
  byLogin(loginName: string): Person | undefined {
    return this.resolve(`@${loginName}`).people[0];
  }
}
