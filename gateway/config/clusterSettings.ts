import { z } from 'zod';

/**
 * Several gateway instances behind one load balancer. With `redis: true` (REDIS_URL) they
 * share what makes them behave as one: session state (a session opened on one instance
 * continues on any other), rate-limit counters, cache invalidations and resource
 * subscriptions.
 */
export const clusterSchema = z
  .object({
    redis: z.boolean().default(false),
  })
  .strict();

export type ClusterSettings = z.output<typeof clusterSchema>;
