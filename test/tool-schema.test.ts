import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { allTools } from '../core/tools/index.ts';
import { parseToolArguments, toStrictJsonSchema } from '../core/tools/schema.ts';
import { strictSchemaProblem } from './fakes/llm-validate.ts';

describe('toStrictJsonSchema (zod → OpenAI strict mode)', () => {
  it('every agent tool gets a schema strict mode accepts', () => {
    for (const tool of allTools)
      expect(strictSchemaProblem(toStrictJsonSchema(tool.parameters), []), tool.name).toBeUndefined();
  });

  it('closes objects, requires every property, makes optional ones nullable and drops defaults, at every depth', () => {
    const schema = z.object({
      name: z.string().min(1).describe('Name'),
      limit: z.number().int().max(200).default(50).describe('How many'),
      filter: z
        .object({
          category: z.string().optional(),
          status: z.enum(['queued', 'done']).describe('Status'),
        })
        .optional()
        .describe('Filter'),
      tags: z.array(z.object({ key: z.string(), value: z.string().nullable().optional() })).optional(),
    });
    expect(toStrictJsonSchema(schema)).toEqual({
      type: 'object',
      properties: {
        name: { type: 'string', minLength: 1, description: 'Name' },
        limit: {
          anyOf: [{ type: 'integer', maximum: 200, minimum: -9007199254740991 }, { type: 'null' }],
          description: 'How many',
        },
        filter: {
          anyOf: [
            {
              type: 'object',
              properties: {
                category: { anyOf: [{ type: 'string' }, { type: 'null' }] },
                status: { type: 'string', enum: ['queued', 'done'], description: 'Status' },
              },
              required: ['category', 'status'],
              additionalProperties: false,
            },
            { type: 'null' },
          ],
          description: 'Filter',
        },
        tags: {
          anyOf: [
            {
              type: 'array',
              items: {
                type: 'object',
                properties: { key: { type: 'string' }, value: { type: ['string', 'null'] } },
                required: ['key', 'value'],
                additionalProperties: false,
              },
            },
            { type: 'null' },
          ],
        },
      },
      required: ['name', 'limit', 'filter', 'tags'],
      additionalProperties: false,
    });
  });

  it('refuses, when the specs are built, a schema strict mode cannot express', () => {
    expect(() => toStrictJsonSchema(z.object({ labels: z.record(z.string(), z.string()) }))).toThrow(
      /additionalProperties: false/,
    );
    expect(() => toStrictJsonSchema(z.object({ point: z.tuple([z.number(), z.number()]) }))).toThrow(
      /tuple|prefixItems/,
    );
  });

  it('parses strict-mode arguments: nulls mean "not given", bad input is a readable error', () => {
    const schema = z.object({ query: z.string().optional(), limit: z.number().int().default(10) });
    expect(parseToolArguments(schema, '{"query":null,"limit":null}')).toEqual({ ok: true, args: { limit: 10 } });
    expect(parseToolArguments(schema, '{"query":"x","limit":"many"}')).toMatchObject({
      ok: false,
      error: expect.stringMatching(/^Invalid arguments — limit: /),
    });
    expect(parseToolArguments(schema, 'not json')).toMatchObject({
      ok: false,
      error: expect.stringContaining('not valid JSON'),
    });
  });
});
