import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { convertOnce } from '../../shared/serving/serverSurface.js';

const TARGET = { target: 'draft-2020-12' };

describe('tool schemas converted to JSON Schema once per process', () => {
  it('gives the same JSON Schema as zod, per direction, and the same frozen object every time', () => {
    // A default makes the two directions differ: optional as input, always present as output.
    const fresh = () => z.strictObject({ title: z.string().min(1), priority: z.enum(['low', 'high']).default('low'), tags: z.array(z.string()).optional() });
    const remembered = fresh();
    convertOnce(remembered);
    for (const io of ['input', 'output'] as const) {
      const first = remembered['~standard'].jsonSchema[io](TARGET);
      expect(first).toEqual(fresh()['~standard'].jsonSchema[io](TARGET));
      expect(remembered['~standard'].jsonSchema[io](TARGET)).toBe(first);
      expect(Object.isFrozen(first)).toBe(true);
      expect(Object.isFrozen(first.properties)).toBe(true);
    }
    expect(remembered['~standard'].jsonSchema.input(TARGET).required).toEqual(['title']);
    expect(remembered['~standard'].jsonSchema.output(TARGET).required).toEqual(['title', 'priority']);
  });

  it('keeps answers for other options apart, and leaves other schemas alone', () => {
    const schema = z.object({ when: z.string() });
    const other = z.object({ count: z.number() });
    convertOnce(schema);
    const draft7 = schema['~standard'].jsonSchema.input({ target: 'draft-7' });
    const draft2020 = schema['~standard'].jsonSchema.input(TARGET);
    expect(draft7.$schema).toMatch(/draft-07/);
    expect(draft2020.$schema).toMatch(/2020-12/);
    expect(other['~standard'].jsonSchema.input(TARGET).properties).toEqual({ count: { type: 'number' } });
    expect(Object.isFrozen(other['~standard'].jsonSchema.input(TARGET))).toBe(false);
  });

  it('ignores what is not a Standard JSON Schema', () => {
    expect(() => convertOnce(undefined)).not.toThrow();
    expect(() => convertOnce({ type: 'object' })).not.toThrow();
  });
});
