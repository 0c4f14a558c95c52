/**
 * What the stages of one call learn about it, for the logs, metrics and audit around them: a
 * typed field of the call's context (`facts`), set by the outermost recording stage and filled
 * in by the policy stages inside it. Copies of a context made on the way share the same facts.
 */
export interface CallFacts {
  write: boolean;
  responseBytes?: number;
  cache?: 'hit' | 'miss' | 'bypass';
}
