/** At most `max` attempts per `windowMs`. */
export interface Tier {
  windowMs: number;
  max: number;
}

/**
 * How many sign-in attempts (right or wrong) the embedded authorization server accepts, per
 * account (the login name) and per client address, and how many client registrations per
 * address. Tiers of growing windows make the wait grow with persistence: a guesser is held a
 * minute, then an hour, then a day, while a person who mistypes a few times is not.
 */
export interface SignInLimits {
  perAccount: Tier[];
  perAddress: Tier[];
  registrationsPerAddress: Tier[];
}

export const DEFAULT_SIGN_IN_LIMITS: SignInLimits = {
  perAccount: [
    { windowMs: 60_000, max: 5 },
    { windowMs: 3_600_000, max: 20 },
    { windowMs: 86_400_000, max: 50 },
  ],
  // An office behind one NAT address signs in and registers its clients from it: generous.
  perAddress: [
    { windowMs: 60_000, max: 30 },
    { windowMs: 3_600_000, max: 300 },
  ],
  registrationsPerAddress: [
    { windowMs: 60_000, max: 30 },
    { windowMs: 3_600_000, max: 300 },
  ],
};
