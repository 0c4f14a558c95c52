import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { ConfigError } from '../../../shared/config.js';
import { isPasswordHash } from './passwords.js';

/**
 * Who may sign in to the embedded authorization server, and which script clients exist.
 * This is the shape the gateway configuration embeds (`auth.embedded`), and the JSON file
 * the token command reads with `--users FILE`.
 */

/** An OAuth scope token (RFC 6749 §3.3), e.g. `pm:read`. */
export const scopeSchema = z.string().regex(/^[\x21\x23-\x5B\x5D-\x7E]{1,128}$/, 'must be a scope such as "pm:read" (no spaces, quotes or backslashes)');

export const embeddedUserSchema = z
  .object({
    /** The stable subject (`sub`) of this user's tokens; also accepted as the login name. */
    id: z
      .string()
      .min(1)
      .max(320)
      .regex(/^[^\s<>"'&]+$/, 'must not contain spaces, quotes, < > or &'),
    /** Also accepted as the login name (case-insensitive); copied into tokens as `email`. */
    email: z.email('must be an email address such as ada@example.com'),
    name: z.string().min(1).max(200).optional(),
    /** `scrypt$<salt base64>$<hash base64>`; make one with `node dist/gateway/auth/embedded/printPasswordHash.js`. */
    passwordHash: z.string().refine(isPasswordHash, 'must be "scrypt$<salt base64>$<hash base64>" (see printPasswordHash)'),
    /** The most this user can grant; every supported scope when absent. */
    scopes: z.array(scopeSchema).optional(),
  })
  .strict();

export const embeddedClientSchema = z
  .object({
    clientId: z
      .string()
      .min(3)
      .max(200)
      .regex(/^[A-Za-z0-9._~-]+$/, 'may contain letters, digits and . _ ~ -'),
    /** At least 32 characters; scripts send it with HTTP Basic (default) or in the form body. */
    clientSecret: z.string().min(32, 'must be at least 32 characters'),
    /** The scopes this script may obtain with the client credentials grant. */
    scopes: z.array(scopeSchema).min(1, 'list the scopes this client may request'),
    name: z.string().min(1).max(200).optional(),
    authMethod: z.enum(['client_secret_basic', 'client_secret_post']).default('client_secret_basic'),
  })
  .strict();

export const embeddedAuthSettingsSchema = z
  .object({
    /** Supported scopes; defaults to every scope some user or client lists. */
    scopes: z.array(scopeSchema).optional(),
    users: z.array(embeddedUserSchema).default([]),
    clients: z.array(embeddedClientSchema).default([]),
    /** Resources besides the gateway's main and per-namespace MCP endpoints. */
    extraResources: z.array(z.url({ protocol: /^https?$/ })).default([]),
    /**
     * Client ID metadata documents: a client whose `client_id` is an https URL is described by
     * the JSON document at that URL (MCP 2026-07-28's preferred registration). `allowLoopback`
     * lets documents be fetched from 127.0.0.1 / ::1, for development on one machine only.
     */
    clientMetadataDocuments: z
      .object({
        enabled: z.boolean().default(true),
        allowLoopback: z.boolean().default(false),
      })
      .strict()
      .default({ enabled: true, allowLoopback: false }),
  })
  .strict()
  .superRefine((settings, ctx) => {
    const ids = new Set<string>();
    settings.users.forEach((user, index) => {
      for (const key of [user.id, user.email.toLowerCase()]) {
        if (ids.has(key)) ctx.addIssue({ code: 'custom', path: ['users', index], message: `"${key}" names two users; ids and emails must be unique` });
        ids.add(key);
      }
    });
  });

export type EmbeddedUser = z.infer<typeof embeddedUserSchema>;
export type EmbeddedClient = z.infer<typeof embeddedClientSchema>;
export type EmbeddedAuthSettings = z.infer<typeof embeddedAuthSettingsSchema>;

/** The supported scopes: configured ones, else every scope a user or client lists. */
export function supportedScopesOf(settings: EmbeddedAuthSettings): string[] {
  if (settings.scopes) return [...new Set(settings.scopes)];
  return [...new Set([...settings.users.flatMap((u) => u.scopes ?? []), ...settings.clients.flatMap((c) => c.scopes)])];
}

/** Read and validate a settings JSON file; problems name their JSON path. Never echoes values. */
export function loadEmbeddedAuthSettings(file: string, flag = '--users'): EmbeddedAuthSettings {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(file, 'utf8'));
  } catch (error) {
    const reason = (error as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (error as Error).message;
    throw new ConfigError([`${flag} ${file}: cannot read it as JSON (${reason}).`]);
  }
  const parsed = embeddedAuthSettingsSchema.safeParse(raw);
  if (parsed.success) return parsed.data;
  throw new ConfigError(parsed.error.issues.map((issue) => `${flag} ${file}: ${issue.path.map(String).join('.') || '(root)'}: ${issue.message}`));
}
