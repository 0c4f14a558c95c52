import { describe, expect, it } from 'vitest';
import { UserCallLimit } from '../../../../gateway/upstreams/userCallLimit.js';

describe('calls one user may have in flight', () => {
  it('refuses a user at the cap, saying how many and what to do, while others go on', () => {
    const limit = new UserCallLimit(2);
    expect(limit.enter('ada')).toBeUndefined();
    expect(limit.enter('ada')).toBeUndefined();
    const refusal = limit.enter('ada');
    expect(refusal).toMatchObject({ code: 'rate_limited', action: 'Retry when one of them has finished (limits.perUser.inFlight).' });
    expect(refusal?.message).toBe('You have 2 calls in flight on this gateway instance, the most one user may have at once (2).');
    expect(limit.enter('bob')).toBeUndefined();
  });

  it('lets the user in again once a call has finished', () => {
    const limit = new UserCallLimit(1);
    limit.enter('ada');
    expect(limit.enter('ada')).toBeDefined();
    limit.leave('ada');
    expect(limit.enter('ada')).toBeUndefined();
  });
});
